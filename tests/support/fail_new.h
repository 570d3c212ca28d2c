// Allocation failure injection for tests: the test binaries replace the
// global operator new with one that throws std::bad_alloc when a per-thread
// countdown reaches zero, so a test can fail each heap allocation of an
// operation in turn (the heap counterpart of FaultEnv's failed writes).
//
// Disarmed by default, when the replacement only forwards to malloc.
// Thread safety: the countdown is per thread; other threads never fail.
#ifndef REVFS_TESTS_SUPPORT_FAIL_NEW_H_
#define REVFS_TESTS_SUPPORT_FAIL_NEW_H_

namespace revfs::testing {

// Makes the `n`-th global operator new on this thread from now on throw
// std::bad_alloc (n >= 1), once; n == 0 disarms.
void ArmAllocationFailure(int n);
// Disarms and returns the countdown left (0 when it fired or was not armed),
// so checks made between two steps of an operation allocate freely and
// ResumeAllocationFailure(left) resumes the count.
int PauseAllocationFailure();
// Sets the countdown to `left` without forgetting whether a failure fired.
void ResumeAllocationFailure(int left);
// Returns whether an armed failure fired on this thread since the last
// ArmAllocationFailure.
bool AllocationFailureFired();

}  // namespace revfs::testing

#endif  // REVFS_TESTS_SUPPORT_FAIL_NEW_H_
