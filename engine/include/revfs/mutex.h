// Mutex, SharedMutex and CondVar: the standard library's std::mutex,
// std::shared_mutex and std::condition_variable, annotated so that clang's
// -Wthread-safety checks every field marked GUARDED_BY and every function
// marked REQUIRES / EXCLUDES (revfs/thread_annotations.h). libstdc++'s types
// carry no annotations, hence these wrappers; they add no state and no cost.
// They are public headers only so that fusefs, which sees nothing of the
// engine but include/revfs/, guards its fields with the same types; they
// are no part of the store's API.
//
// Locks are held through the scoped guards MutexLock (a Mutex),
// WriterMutexLock and ReaderMutexLock (a SharedMutex), which take a pointer
// to the lock as LevelDB's and Abseil's do:
//
//   MutexLock lock(&mu_);
//   while (queue_.empty()) cv_.Wait(&mu_);  // a loop: the analysis checks it
//
// Thread safety: Mutex and SharedMutex are locks; a guard belongs to the
// thread that made it; CondVar may be waited on and signalled from any
// thread, always with one and the same Mutex.
#ifndef REVFS_MUTEX_H_
#define REVFS_MUTEX_H_

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <shared_mutex>

#include "revfs/thread_annotations.h"

namespace revfs {

class CAPABILITY("mutex") Mutex {
 public:
  Mutex() = default;
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;

  void Lock() ACQUIRE() { mu_.lock(); }
  void Unlock() RELEASE() { mu_.unlock(); }
  // Tells the analysis the caller holds the lock, where it cannot see so
  // (a lambda run under the lock). Checks nothing at run time.
  void AssertHeld() const ASSERT_CAPABILITY(this) {}

 private:
  friend class CondVar;
  std::mutex mu_;
};

// A reader-writer lock: many holders in shared mode, or one in exclusive.
class CAPABILITY("shared_mutex") SharedMutex {
 public:
  SharedMutex() = default;
  SharedMutex(const SharedMutex&) = delete;
  SharedMutex& operator=(const SharedMutex&) = delete;

  void Lock() ACQUIRE() { mu_.lock(); }
  void Unlock() RELEASE() { mu_.unlock(); }
  void ReaderLock() ACQUIRE_SHARED() { mu_.lock_shared(); }
  void ReaderUnlock() RELEASE_SHARED() { mu_.unlock_shared(); }
  void AssertReaderHeld() const ASSERT_SHARED_CAPABILITY(this) {}

 private:
  std::shared_mutex mu_;
};

// Holds `mu` from construction to destruction.
class [[nodiscard]] SCOPED_CAPABILITY MutexLock {
 public:
  explicit MutexLock(Mutex* mu) ACQUIRE(mu) : mu_(mu) { mu_->Lock(); }
  ~MutexLock() RELEASE() { mu_->Unlock(); }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

 private:
  Mutex* const mu_;
};

// Holds `mu` exclusively from construction to destruction.
class [[nodiscard]] SCOPED_CAPABILITY WriterMutexLock {
 public:
  explicit WriterMutexLock(SharedMutex* mu) ACQUIRE(mu) : mu_(mu) { mu_->Lock(); }
  ~WriterMutexLock() RELEASE() { mu_->Unlock(); }
  WriterMutexLock(const WriterMutexLock&) = delete;
  WriterMutexLock& operator=(const WriterMutexLock&) = delete;

 private:
  SharedMutex* const mu_;
};

// Holds `mu` shared from construction to destruction.
class [[nodiscard]] SCOPED_CAPABILITY ReaderMutexLock {
 public:
  explicit ReaderMutexLock(SharedMutex* mu) ACQUIRE_SHARED(mu) : mu_(mu) { mu_->ReaderLock(); }
  ~ReaderMutexLock() RELEASE() { mu_->ReaderUnlock(); }
  ReaderMutexLock(const ReaderMutexLock&) = delete;
  ReaderMutexLock& operator=(const ReaderMutexLock&) = delete;

 private:
  SharedMutex* const mu_;
};

// A condition variable for a Mutex. Every wait releases `mu` while blocked
// and holds it again when it returns (also spuriously: wait in a loop that
// re-checks the condition, or pass the condition).
class CondVar {
 public:
  CondVar() = default;
  CondVar(const CondVar&) = delete;
  CondVar& operator=(const CondVar&) = delete;

  void Wait(Mutex* mu) REQUIRES(mu) {
    Adopted lock(mu);
    cv_.wait(lock.get());
  }
  // Returns false once `deadline` has passed, true when woken before.
  template <typename Clock, typename Duration>
  bool WaitUntil(Mutex* mu, std::chrono::time_point<Clock, Duration> deadline) REQUIRES(mu) {
    Adopted lock(mu);
    return cv_.wait_until(lock.get(), deadline) == std::cv_status::no_timeout;
  }
  // Waits until `done()` or `deadline`; returns done(). `done` runs with
  // `mu` held, but the analysis checks a lambda on its own: one that reads
  // fields guarded by `mu` calls mu->AssertHeld() first.
  template <typename Clock, typename Duration, typename Predicate>
  bool WaitUntil(Mutex* mu, std::chrono::time_point<Clock, Duration> deadline, Predicate done)
      REQUIRES(mu) {
    while (!done()) {
      if (!WaitUntil(mu, deadline)) return done();
    }
    return true;
  }
  template <typename Rep, typename Period>
  bool WaitFor(Mutex* mu, std::chrono::duration<Rep, Period> timeout) REQUIRES(mu) {
    return WaitUntil(mu, std::chrono::steady_clock::now() + timeout);
  }

  void Signal() { cv_.notify_one(); }
  void SignalAll() { cv_.notify_all(); }

 private:
  // Lends a held Mutex's std::mutex to std::condition_variable for one wait
  // and gives it back still locked, however the wait ends: the caller's
  // guard remains the one that unlocks it.
  class Adopted {
   public:
    explicit Adopted(Mutex* mu) : lock_(mu->mu_, std::adopt_lock) {}
    ~Adopted() { lock_.release(); }
    std::unique_lock<std::mutex>& get() { return lock_; }

   private:
    std::unique_lock<std::mutex> lock_;
  };

  std::condition_variable cv_;
};

}  // namespace revfs

#endif  // REVFS_MUTEX_H_
