#include "support/store_util.h"

#include "store/page_log.h"
#include "store/revision_writer.h"

namespace revfs::testing {

std::string PageContent(uint64_t revision, int index) {
  std::string s = "revision " + std::to_string(revision) + " page " + std::to_string(index) + ":";
  for (int i = 0; i < 40 + index * 7; ++i) s.push_back(static_cast<char>('a' + (i + revision) % 26));
  return s;
}

Result<CommittedRevision> CommitPages(Store* store, int npages, int64_t time_ns) {
  REVFS_ASSIGN_OR_RETURN(auto commit, store->BeginRevision());
  CommittedRevision rev;
  rev.number = commit->revision();
  rev.time_ns = time_ns;
  for (int i = 0; i < npages; ++i) {
    std::string content = PageContent(rev.number, i);
    REVFS_ASSIGN_OR_RETURN(PageRef ref, commit->AppendPage(PageKind::kOpaque, content));
    rev.pages.emplace_back(ref, std::move(content));
  }
  PageRef tree = rev.pages.empty() ? PageRef{} : rev.pages.front().first;
  REVFS_ASSIGN_OR_RETURN(uint64_t n, commit->Finish(time_ns, "commit " + std::to_string(rev.number), tree));
  if (n != rev.number) return Status::Corruption("commit returned the wrong revision");
  return rev;
}

Status CheckRevision(const Store& store, const CommittedRevision& rev) {
  REVFS_ASSIGN_OR_RETURN(RevisionRoot root, store.ReadRevisionRoot(rev.number));
  if (root.time_ns != rev.time_ns || root.message != "commit " + std::to_string(rev.number)) {
    return Status::Corruption("revision root of " + std::to_string(rev.number) + " differs");
  }
  if (root.Counter("pages_written") != rev.pages.size()) {
    return Status::Corruption("pages_written counter differs");
  }
  for (const auto& [ref, content] : rev.pages) {
    std::string buf;
    PageView view;
    REVFS_RETURN_IF_ERROR(store.pages().Read(ref, PageKind::kOpaque, &buf, &view));
    if (view.payload != content) {
      return Status::Corruption("page at " + std::to_string(ref.offset) + " differs");
    }
  }
  return Status::OK();
}

}  // namespace revfs::testing
