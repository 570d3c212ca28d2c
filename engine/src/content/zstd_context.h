// One zstd compression and one decompression context per thread, reused:
// making a context costs more than decoding a small page with it.
//
// A context's work space (about 1 MiB of tables at level 3) comes from
// ZstdMemory(): large blocks are mapped with their pages populated in one
// call, where zstd's first clear of its tables would fault them in one 4
// KiB page at a time (10-15 us a page on a VM, a fifth of a short commit).
#ifndef REVFS_CONTENT_ZSTD_CONTEXT_H_
#define REVFS_CONTENT_ZSTD_CONTEXT_H_

#define ZSTD_STATIC_LINKING_ONLY  // ZSTD_customMem and the *_advanced constructors
#include <zstd.h>
#include <zstd_errors.h>

#include <memory>

namespace revfs::internal {

// The allocator the contexts below are made with (zstd_context.cc).
ZSTD_customMem ZstdMemory();

// Returns this thread's compression context with its parameters reset, or
// null when zstd cannot make one (out of memory).
inline ZSTD_CCtx* ThreadCCtx() {
  thread_local std::unique_ptr<ZSTD_CCtx, size_t (*)(ZSTD_CCtx*)> ctx(
      ZSTD_createCCtx_advanced(ZstdMemory()), ZSTD_freeCCtx);
  if (ctx) ZSTD_CCtx_reset(ctx.get(), ZSTD_reset_session_and_parameters);
  return ctx.get();
}

// Returns this thread's decompression context with its parameters reset
// (no prefix), or null when zstd cannot make one.
inline ZSTD_DCtx* ThreadDCtx() {
  thread_local std::unique_ptr<ZSTD_DCtx, size_t (*)(ZSTD_DCtx*)> ctx(
      ZSTD_createDCtx_advanced(ZstdMemory()), ZSTD_freeDCtx);
  if (ctx) ZSTD_DCtx_reset(ctx.get(), ZSTD_reset_session_and_parameters);
  return ctx.get();
}

// Compresses with this thread's context; a zstd error code (ZSTD_isError)
// when there is no context or compression fails.
inline size_t ThreadCompress(void* dst, size_t capacity, const void* src, size_t size,
                             int level) {
  ZSTD_CCtx* cctx = ThreadCCtx();
  if (cctx == nullptr) return static_cast<size_t>(-ZSTD_error_memory_allocation);
  return ZSTD_compressCCtx(cctx, dst, capacity, src, size, level);
}

// Decompresses one frame with this thread's context; a zstd error code when
// there is no context or the frame does not decode.
inline size_t ThreadDecompress(void* dst, size_t capacity, const void* src, size_t size) {
  ZSTD_DCtx* dctx = ThreadDCtx();
  if (dctx == nullptr) return static_cast<size_t>(-ZSTD_error_memory_allocation);
  return ZSTD_decompressDCtx(dctx, dst, capacity, src, size);
}

}  // namespace revfs::internal

#endif  // REVFS_CONTENT_ZSTD_CONTEXT_H_
