import Kernels
import Testing

/// The buffer pool recycles small buffers by exact capacity and leaves large ones to `BufferArena.large`.
@Suite struct BufferPoolTests {
    @Test func keepsSmallBuffersIdleAndReusesThemButNotLargeOnes() {
        let pool = BufferPool(limitBytes: 1 << 30)
        let small = pool.take(1000)
        pool.give(small, capacity: 1000)
        #expect(pool.idleBytes == 4000)
        #expect(pool.take(1000) == small && pool.idleBytes == 0)
        pool.give(small, capacity: 1000)

        let large = pool.take(BufferPool.largest + 1)
        large[BufferPool.largest] = 1  // the whole capacity is writable
        pool.give(large, capacity: BufferPool.largest + 1)
        #expect(pool.idleBytes == 4000)
    }

    @Test func holdsNoMoreThanItsLimitIdle() {
        let pool = BufferPool(limitBytes: 6000)
        let (a, b) = (pool.take(1000), pool.take(1000))
        pool.give(a, capacity: 1000)
        pool.give(b, capacity: 1000)
        #expect(pool.idleBytes == 4000)
    }
}
