// DamageLog: the files whose damage a read has logged, as (revision,
// identity.Word(1)), so that a damaged file is logged once however often it is
// read; the reader gets EIO each time.
//
// Thread safety: Once may be called from any thread; one mutex guards the
// set and is held while the log line is written.
#ifndef REVFS_FUSEFS_DAMAGE_LOG_H_
#define REVFS_FUSEFS_DAMAGE_LOG_H_

#include <cstdint>
#include <set>
#include <utility>

#include "revfs/mutex.h"
#include "revfs/thread_annotations.h"

namespace revfs::fusefs {

class DamageLog {
 public:
  // Runs `log` if the file (rev, identity) was not logged before. `log`
  // runs under the lock: it must not call Once.
  template <typename Fn>
  void Once(uint64_t rev, uint64_t identity, Fn log) EXCLUDES(mu_) {
    MutexLock lock(&mu_);
    if (logged_.insert({rev, identity}).second) log();
  }

 private:
  Mutex mu_;
  std::set<std::pair<uint64_t, uint64_t>> logged_ GUARDED_BY(mu_);
};

}  // namespace revfs::fusefs

#endif  // REVFS_FUSEFS_DAMAGE_LOG_H_
