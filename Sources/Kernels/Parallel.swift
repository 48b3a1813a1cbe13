import Dispatch

/// The number of worker threads kernels split their loops over (the machine's core count).
public let workerCount: Int = max(1, ProcessInfoCores.count)

enum ProcessInfoCores {
    static var count: Int {
        #if canImport(Glibc)
        return Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))
        #else
        return 2
        #endif
    }
}

#if canImport(Glibc)
import Glibc
#endif

/// Runs `body(range)` over `0..<count` split into contiguous chunks, on all workers when the
/// work (`count * costPerItem` scalar operations) is large enough to pay for the hand-off.
@inlinable
public func parallelChunks(_ count: Int, costPerItem: Int = 1, _ body: (Range<Int>) -> Void) {
    let workers = count * costPerItem >= 1 << 15 ? min(workerCount, count) : 1
    if workers <= 1 {
        if count > 0 { body(0..<count) }
        return
    }
    withoutActuallyEscaping(body) { body in
        nonisolated(unsafe) let chunk = body  // each worker touches a disjoint range
        DispatchQueue.concurrentPerform(iterations: workers) { w in
            let lo = count * w / workers, hi = count * (w + 1) / workers
            if lo < hi { chunk(lo..<hi) }
        }
    }
}
