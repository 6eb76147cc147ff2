import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Keeps glibc from mapping and unmapping memory for every large buffer.
///
/// Log chunks arrive in buffers of up to 1 MiB. By default glibc serves blocks
/// of that size with a fresh `mmap` each time and returns them with `munmap`,
/// so every chunk paid for zeroing and faulting in new pages: a quarter of the
/// hub's CPU while a task streamed its log (see docs/performance.md). Serving
/// them from the heap, and keeping up to 64 MiB of freed heap, lets buffers be
/// reused. `MALLOC_MMAP_THRESHOLD_` / `MALLOC_TRIM_THRESHOLD_` still win if set.
enum MallocTuning {
    static let mmapThreshold: Int32 = 8 << 20
    static let trimThreshold: Int32 = 64 << 20

    static func applyForLongRunningProcess() {
        #if canImport(Glibc)
        // mallopt sits in <malloc.h>, which the Glibc module does not export.
        typealias Mallopt = @convention(c) (Int32, Int32) -> Int32
        guard let pointer = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "mallopt") else { return }
        let mallopt = unsafeBitCast(pointer, to: Mallopt.self)
        let environment = ProcessInfo.processInfo.environment
        let trimThresholdParameter: Int32 = -1, mmapThresholdParameter: Int32 = -3  // M_TRIM_THRESHOLD, M_MMAP_THRESHOLD
        if environment["MALLOC_MMAP_THRESHOLD_"] == nil { _ = mallopt(mmapThresholdParameter, mmapThreshold) }
        if environment["MALLOC_TRIM_THRESHOLD_"] == nil { _ = mallopt(trimThresholdParameter, trimThreshold) }
        #endif
    }
}
