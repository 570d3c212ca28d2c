// Thread-safety annotations: which mutex guards a field, which locks a
// function needs, takes or must not hold. Under clang, -Wthread-safety
// checks them at compile time (see
// https://clang.llvm.org/docs/ThreadSafetyAnalysis.html); elsewhere they
// expand to nothing. The mutex types that carry them are in revfs/mutex.h
// (the standard library's carry none).
//
//   Mutex mu_;
//   int count_ GUARDED_BY(mu_);          // read or written only with mu_ held
//   void Bump() REQUIRES(mu_);           // the caller holds mu_
//   void Refresh() EXCLUDES(mu_);        // takes mu_ itself
//
// Thread safety: macros only.
#ifndef REVFS_THREAD_ANNOTATIONS_H_
#define REVFS_THREAD_ANNOTATIONS_H_

#if defined(__clang__)
#define REVFS_THREAD_ANNOTATION(x) __attribute__((x))
#else
#define REVFS_THREAD_ANNOTATION(x)
#endif

// On a class: its objects are locks (the name appears in diagnostics).
#define CAPABILITY(name) REVFS_THREAD_ANNOTATION(capability(name))
// On a class: an RAII object that holds a lock for its lifetime.
#define SCOPED_CAPABILITY REVFS_THREAD_ANNOTATION(scoped_lockable)

// On a field: accessed only with the lock held (shared suffices to read).
#define GUARDED_BY(x) REVFS_THREAD_ANNOTATION(guarded_by(x))
// On a pointer field: the pointee is accessed only with the lock held.
#define PT_GUARDED_BY(x) REVFS_THREAD_ANNOTATION(pt_guarded_by(x))
// On a lock field: the order in which two locks may be taken.
#define ACQUIRED_AFTER(...) REVFS_THREAD_ANNOTATION(acquired_after(__VA_ARGS__))
#define ACQUIRED_BEFORE(...) REVFS_THREAD_ANNOTATION(acquired_before(__VA_ARGS__))

// On a function: the caller holds the locks (exclusively / at least shared).
#define REQUIRES(...) REVFS_THREAD_ANNOTATION(requires_capability(__VA_ARGS__))
#define REQUIRES_SHARED(...) REVFS_THREAD_ANNOTATION(requires_shared_capability(__VA_ARGS__))
// On a function: the caller must not hold the locks (the function takes them).
#define EXCLUDES(...) REVFS_THREAD_ANNOTATION(locks_excluded(__VA_ARGS__))

// On a function: it takes / releases the locks (no argument: `this`).
#define ACQUIRE(...) REVFS_THREAD_ANNOTATION(acquire_capability(__VA_ARGS__))
#define ACQUIRE_SHARED(...) REVFS_THREAD_ANNOTATION(acquire_shared_capability(__VA_ARGS__))
#define RELEASE(...) REVFS_THREAD_ANNOTATION(release_capability(__VA_ARGS__))
#define RELEASE_SHARED(...) REVFS_THREAD_ANNOTATION(release_shared_capability(__VA_ARGS__))
// On a function: it takes the lock when it returns `result`.
#define TRY_ACQUIRE(...) REVFS_THREAD_ANNOTATION(try_acquire_capability(__VA_ARGS__))
// On a function: the lock is held when it returns (checked at run time, if at all).
#define ASSERT_CAPABILITY(x) REVFS_THREAD_ANNOTATION(assert_capability(x))
#define ASSERT_SHARED_CAPABILITY(x) REVFS_THREAD_ANNOTATION(assert_shared_capability(x))
// On a function: it returns a reference to the lock `x`.
#define RETURN_CAPABILITY(x) REVFS_THREAD_ANNOTATION(lock_returned(x))

// On a function: its body is not checked. For what the analysis cannot
// follow; say why beside it.
#define NO_THREAD_SAFETY_ANALYSIS REVFS_THREAD_ANNOTATION(no_thread_safety_analysis)

#endif  // REVFS_THREAD_ANNOTATIONS_H_
