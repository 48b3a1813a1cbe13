import CKernels
import Synchronization

/// A 64-byte aligned float buffer whose memory returns to a pool, or to glibc's heap, when the last reference goes away.
///
/// Fresh allocations are expensive on this machine (docs/DESIGN.md, "Measured facts"), and a training or distillation
/// loop allocates the same sizes every iteration. Buffers up to `BufferPool.largest` floats are recycled by exact
/// capacity; larger ones come from `BufferArena.large`, which reuses freed memory for any size: a pool would hold one
/// idle buffer of every large size a pass ever used, gigabytes at 224x224. The pool's own buffers of 256 KB and more
/// come from `BufferArena.pooled`, on huge pages.
public final class FloatBuffer: @unchecked Sendable {
    public let pointer: UnsafeMutablePointer<Float>
    public let capacity: Int

    /// A buffer of `capacity` floats with unspecified contents.
    public init(capacity: Int) {
        precondition(capacity >= 0, "buffer capacity must be non-negative, got \(capacity)")
        self.capacity = capacity
        self.pointer = BufferPool.shared.take(capacity)
    }

    /// A buffer of `capacity` floats, all zero.
    public convenience init(zeros capacity: Int) { self.init(repeating: 0, capacity: capacity) }

    deinit { BufferPool.shared.give(pointer, capacity: capacity) }

    /// A buffer holding `scalars`.
    public convenience init(_ scalars: [Float]) {
        self.init(capacity: scalars.count)
        if !scalars.isEmpty { scalars.withUnsafeBufferPointer { pointer.update(from: $0.baseAddress!, count: scalars.count) } }
    }

    /// A buffer of `capacity` floats drawn in order from `draw` (inlined, so that `draw` is too).
    @inlinable
    public convenience init(capacity: Int, drawing draw: () -> Float) {
        self.init(capacity: capacity)
        for i in 0..<capacity { pointer[i] = draw() }
    }

    /// A buffer of `capacity` floats, all `value`.
    public convenience init(repeating value: Float, capacity: Int) {
        self.init(capacity: capacity)
        pointer.update(repeating: value, count: capacity)
    }

    /// The first `count` floats.
    public func scalars(count: Int) -> [Float] {
        precondition(count <= capacity, "reading \(count) floats from a buffer of \(capacity)")
        return Array(UnsafeBufferPointer(start: pointer, count: count))
    }
}

/// Recycles float buffers of at most `largest` floats by exact capacity, holding at most `limitBytes` of idle memory.
package final class BufferPool: Sendable {
    /// The pool every `FloatBuffer` uses; glibc is set to keep freed memory (`ck_keep_freed_memory`) before it
    /// serves its first buffer.
    static let shared: BufferPool = {
        ck_keep_freed_memory()
        return BufferPool(limitBytes: 3 << 30)
    }()
    /// The largest capacity pooled, 16 MB: every activation of ResNet-20 at 28x28 and batch 128; at 224x224 most
    /// activations are larger, and the peaks were lower through the arena (BENCHMARKS.md, "Memory at 224x224").
    package static let largest = 1 << 22
    /// The smallest capacity taken from an arena, 256 KB: below it, glibc's heap, whose pages are small.
    package static let smallestFromArena = 1 << 16

    private struct State {
        var idle: [Int: [UInt]] = [:]  // capacity -> idle addresses
        var idleBytes = 0
    }
    private let state = Mutex(State())
    private let limitBytes: Int

    package init(limitBytes: Int) { self.limitBytes = limitBytes }

    /// The bytes of the buffers held idle.
    package var idleBytes: Int { state.withLock { $0.idleBytes } }

    package func take(_ capacity: Int) -> UnsafeMutablePointer<Float> {
        let reused: UInt? = capacity > BufferPool.largest ? nil : state.withLock { s in
            guard var list = s.idle[capacity], let p = list.popLast() else { return nil }
            s.idle[capacity] = list
            s.idleBytes -= capacity * 4
            return p
        }
        if let reused { return UnsafeMutablePointer(bitPattern: reused)! }
        let raw = BufferPool.arena(for: capacity)?.allocate(byteCount: capacity * 4)
            ?? UnsafeMutableRawPointer.allocate(byteCount: max(capacity, 1) * 4, alignment: 64)
        return raw.bindMemory(to: Float.self, capacity: max(capacity, 1))
    }

    package func give(_ pointer: UnsafeMutablePointer<Float>, capacity: Int) {
        let kept = capacity <= BufferPool.largest && state.withLock { s -> Bool in
            guard s.idleBytes + capacity * 4 <= limitBytes else { return false }
            s.idle[capacity, default: []].append(UInt(bitPattern: pointer))
            s.idleBytes += capacity * 4
            return true
        }
        guard !kept else { return }
        if let arena = BufferPool.arena(for: capacity) {
            arena.deallocate(UnsafeMutableRawPointer(pointer), byteCount: capacity * 4)
        } else {
            UnsafeMutableRawPointer(pointer).deallocate()
        }
    }

    /// Where a buffer of `capacity` floats comes from when the pool has none idle: an arena from
    /// `smallestFromArena` floats up, glibc's heap below.
    static func arena(for capacity: Int) -> BufferArena? {
        capacity > largest ? .large : capacity >= smallestFromArena ? .pooled : nil
    }
}
