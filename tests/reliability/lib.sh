# Sourced by the reliability scripts: `setup_work NAME` makes a private
# directory $work (with a mount point $mnt inside), unmounted and removed on
# exit however the script ends; `fail MSG` prints "NAME: MSG" and exits 1.
setup_work() {
  _name=$1
  work=$(mktemp -d "/tmp/revfs-${1// /-}.XXXXXX")
  mnt=$work/mnt
  mkdir -p "$mnt"
  trap 'fusermount3 -u "$mnt" 2>/dev/null || true; rm -rf "$work"' EXIT
}
fail() {
  echo "$_name: $*" >&2
  exit 1
}
