// One zstd compression and one decompression context per thread, reused:
// making a context costs more than decoding a small page with it.
#ifndef REVFS_ZSTD_CONTEXT_H_
#define REVFS_ZSTD_CONTEXT_H_

#include <zstd.h>

#include <memory>

namespace revfs::internal {

// Returns this thread's compression context with its parameters reset, or
// null when zstd cannot make one (out of memory).
inline ZSTD_CCtx* ThreadCCtx() {
  thread_local std::unique_ptr<ZSTD_CCtx, size_t (*)(ZSTD_CCtx*)> ctx(ZSTD_createCCtx(),
                                                                      ZSTD_freeCCtx);
  if (ctx) ZSTD_CCtx_reset(ctx.get(), ZSTD_reset_session_and_parameters);
  return ctx.get();
}

// Returns this thread's decompression context with its parameters reset
// (no prefix), or null when zstd cannot make one.
inline ZSTD_DCtx* ThreadDCtx() {
  thread_local std::unique_ptr<ZSTD_DCtx, size_t (*)(ZSTD_DCtx*)> ctx(ZSTD_createDCtx(),
                                                                      ZSTD_freeDCtx);
  if (ctx) ZSTD_DCtx_reset(ctx.get(), ZSTD_reset_session_and_parameters);
  return ctx.get();
}

}  // namespace revfs::internal

#endif  // REVFS_ZSTD_CONTEXT_H_
