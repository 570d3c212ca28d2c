// WorkerPool: a fixed set of threads running submitted tasks, used by a
// capture's ChunkPipeline to hash and compress chunks on every core while
// the writer thread reads files and stores results in order.
//
// Thread safety: Submit may be called from any thread. The destructor waits
// for queued tasks to finish.
#ifndef REVFS_TREE_WORKER_POOL_H_
#define REVFS_TREE_WORKER_POOL_H_

#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <thread>
#include <type_traits>
#include <vector>

#include "revfs/mutex.h"
#include "revfs/thread_annotations.h"

namespace revfs {

class WorkerPool {
 public:
  explicit WorkerPool(size_t threads) {
    for (size_t i = 0; i < threads; ++i) threads_.emplace_back([this] { Loop(); });
  }
  ~WorkerPool() {
    {
      MutexLock lock(&mu_);
      stop_ = true;
    }
    cv_.SignalAll();
    for (auto& t : threads_) t.join();
  }
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Runs `fn` on a worker; the future yields its result.
  template <typename Fn>
  std::future<std::invoke_result_t<Fn&>> Submit(Fn fn) EXCLUDES(mu_) {
    auto task = std::make_shared<std::packaged_task<std::invoke_result_t<Fn&>()>>(std::move(fn));
    auto future = task->get_future();
    {
      MutexLock lock(&mu_);
      queue_.emplace_back([task] { (*task)(); });
    }
    cv_.Signal();
    return future;
  }

 private:
  void Loop() EXCLUDES(mu_) {
    while (true) {
      std::function<void()> job;
      {
        MutexLock lock(&mu_);
        while (!stop_ && queue_.empty()) cv_.Wait(&mu_);
        if (queue_.empty()) return;  // stopping, nothing left
        job = std::move(queue_.front());
        queue_.pop_front();
      }
      job();
    }
  }

  Mutex mu_;
  CondVar cv_;  // with mu_: a task queued, or stopping
  std::deque<std::function<void()>> queue_ GUARDED_BY(mu_);
  bool stop_ GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;
};

}  // namespace revfs

#endif  // REVFS_TREE_WORKER_POOL_H_
