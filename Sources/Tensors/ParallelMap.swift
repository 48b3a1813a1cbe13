import Foundation
import Kernels

/// `(0..<count).map(transform)` with the indices split over the engine's worker threads (`parallelChunks`) when
/// `count * costPerItem` scalar operations pay for the hand-off; `transform` must be safe to call concurrently.
/// For loops above the kernels (the quantizers' step-size searches) that need no pointer of their own.
public func parallelMap<T>(_ count: Int, costPerItem: Int = 1, _ transform: (Int) -> T) -> [T] {
    let lock = NSLock()
    var pieces: [(start: Int, values: [T])] = []
    parallelChunks(count, costPerItem: costPerItem) { range in
        let values = range.map(transform)
        lock.withLock { pieces.append((range.lowerBound, values)) }
    }
    return pieces.sorted { $0.start < $1.start }.flatMap(\.values)
}
