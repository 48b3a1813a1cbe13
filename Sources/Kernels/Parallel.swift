import CDNNL

/// The number of worker threads kernels split their loops over: OpenMP's (oneDNN's) thread count.
public let workerCount: Int = max(1, Int(omp_get_max_threads()))

/// The chunk body handed through `GOMP_parallel`'s context pointer.
@usableFromInline
final class ChunkJob {
    @usableFromInline let count: Int, workers: Int
    @usableFromInline let body: (Range<Int>) -> Void

    @usableFromInline init(count: Int, workers: Int, body: @escaping (Range<Int>) -> Void) {
        self.count = count
        self.workers = workers
        self.body = body
    }
}

/// Runs the share of thread `omp_get_thread_num()` of a `ChunkJob`.
@usableFromInline
let runChunk: @convention(c) (UnsafeMutableRawPointer?) -> Void = { context in
    let job = Unmanaged<ChunkJob>.fromOpaque(context!).takeUnretainedValue()
    let w = Int(omp_get_thread_num())
    let lo = job.count * w / job.workers, hi = job.count * (w + 1) / job.workers
    if lo < hi { job.body(lo..<hi) }
}

/// Runs `body(range)` over `0..<count` split into contiguous chunks, on all workers when the work
/// (`count * costPerItem` scalar operations) is large enough to pay for the hand-off. The workers are
/// oneDNN's OpenMP threads: one pool for all the engine's parallel work, so none spins against another.
@inlinable
public func parallelChunks(_ count: Int, costPerItem: Int = 1, _ body: (Range<Int>) -> Void) {
    let workers = count * costPerItem >= 1 << 15 ? min(workerCount, count) : 1
    if workers <= 1 {
        if count > 0 { body(0..<count) }
        return
    }
    withoutActuallyEscaping(body) { body in
        let job = ChunkJob(count: count, workers: workers, body: body)
        withExtendedLifetime(job) {
            GOMP_parallel(runChunk, Unmanaged.passUnretained(job).toOpaque(), UInt32(workers), 0)
        }
    }
}
