import Kernels
import Tensors
import Testing

/// The buffer arena: sizes in grains and memory in huge pages, best fit among freed spans, neighbours merged, the
/// extent lowered when the last span is freed, the heap when the reservation runs out; and under a random workload
/// no two live buffers overlap.
@Suite struct BufferArenaTests {
    static let grain = BufferArena.large.grain

    @Test func roundsEverySizeUpToTheGrain() {
        let arena = BufferArena(reserving: 256 << 20, grain: Self.grain)
        let a = arena.allocate(byteCount: 1)
        let b = arena.allocate(byteCount: Self.grain + 1)
        #expect(b - a == Self.grain && arena.extent == 3 * Self.grain)
        #expect(Int(bitPattern: a) % Self.grain == 0)
        arena.deallocate(b, byteCount: Self.grain + 1)
        arena.deallocate(a, byteCount: 1)
    }

    @Test func aSmallGrainPacksBuffersButCommitsWholeHugePages() {
        let arena = BufferArena(reserving: 256 << 20, grain: 64 << 10)
        let a = arena.allocate(byteCount: 100 << 10)
        let b = arena.allocate(byteCount: 64 << 10)
        #expect(b - a == 128 << 10 && arena.extent == 192 << 10)
        #expect(arena.highWater == BufferArena.hugePage)
        arena.deallocate(a, byteCount: 100 << 10)
        arena.deallocate(b, byteCount: 64 << 10)
        #expect(arena.extent == 0)
    }

    @Test func reusesTheSmallestFreedSpanThatHoldsTheBuffer() {
        let arena = BufferArena(reserving: 256 << 20, grain: Self.grain)
        let spans = [3, 1, 2, 1].map { arena.allocate(byteCount: $0 * Self.grain) }  // freed, kept, freed, kept
        arena.deallocate(spans[0], byteCount: 3 * Self.grain)
        arena.deallocate(spans[2], byteCount: 2 * Self.grain)
        #expect(arena.allocate(byteCount: 2 * Self.grain) == spans[2])
        #expect(arena.allocate(byteCount: Self.grain) == spans[0])
        #expect(arena.extent == 7 * Self.grain && arena.highWater == 7 * Self.grain)
    }

    @Test func mergesFreedNeighboursIntoOneSpan() {
        let arena = BufferArena(reserving: 256 << 20, grain: Self.grain)
        let spans = (0..<4).map { _ in arena.allocate(byteCount: Self.grain) }
        arena.deallocate(spans[0], byteCount: Self.grain)
        arena.deallocate(spans[2], byteCount: Self.grain)
        arena.deallocate(spans[1], byteCount: Self.grain)  // joins both
        #expect(arena.allocate(byteCount: 3 * Self.grain) == spans[0])
        #expect(arena.highWater == 4 * Self.grain)
    }

    @Test func freeingTheLastSpansLowersTheExtentButKeepsTheHighWater() {
        let arena = BufferArena(reserving: 256 << 20, grain: Self.grain)
        let spans = (0..<3).map { _ in arena.allocate(byteCount: Self.grain) }
        arena.deallocate(spans[1], byteCount: Self.grain)
        arena.deallocate(spans[2], byteCount: Self.grain)
        #expect(arena.extent == Self.grain)
        arena.deallocate(spans[0], byteCount: Self.grain)
        #expect(arena.extent == 0 && arena.highWater == 3 * Self.grain)
        #expect(arena.allocate(byteCount: Self.grain) == spans[0])
    }

    @Test func takesFromTheHeapWhenTheReservationRunsOut() {
        let arena = BufferArena(reserving: 64 << 20, grain: Self.grain)
        let inside = arena.allocate(byteCount: 40 << 20)
        let outside = arena.allocate(byteCount: 40 << 20)
        #expect(outside - inside >= 40 << 20 || inside - outside >= 40 << 20)
        #expect(arena.extent == 40 << 20)
        outside.storeBytes(of: 7, toByteOffset: (40 << 20) - 1, as: UInt8.self)  // the whole buffer is writable
        arena.deallocate(outside, byteCount: 40 << 20)
        arena.deallocate(inside, byteCount: 40 << 20)
        #expect(arena.extent == 0)
    }

    @Test func liveBuffersNeverOverlapAndKeepTheirBytesUnderRandomUse() {
        let arena = BufferArena(reserving: 1 << 30, grain: Self.grain)
        var generator = SeededGenerator(seed: 17)
        var live: [(pointer: UnsafeMutableRawPointer, bytes: Int, tag: UInt8)] = []
        for step in 0..<2000 {
            if !live.isEmpty, generator.next() % 5 < 2 {
                let b = live.remove(at: Int(generator.next() % UInt64(live.count)))
                #expect(b.pointer.load(as: UInt8.self) == b.tag && b.pointer.load(fromByteOffset: b.bytes - 1, as: UInt8.self) == b.tag)
                arena.deallocate(b.pointer, byteCount: b.bytes)
            } else {
                let bytes = 1 + Int(generator.next() % UInt64(5 * Self.grain))
                let p = arena.allocate(byteCount: bytes)
                let tag = UInt8(truncatingIfNeeded: step)
                p.storeBytes(of: tag, as: UInt8.self)
                p.storeBytes(of: tag, toByteOffset: bytes - 1, as: UInt8.self)
                live.append((p, bytes, tag))
            }
            let ranges = live.map { (start: Int(bitPattern: $0.pointer), end: Int(bitPattern: $0.pointer) + $0.bytes) }.sorted { $0.start < $1.start }
            #expect(zip(ranges, ranges.dropFirst()).allSatisfy { $0.end <= $1.start }, "overlap at step \(step)")
        }
        for b in live { arena.deallocate(b.pointer, byteCount: b.bytes) }
        #expect(arena.extent == 0)
    }
}
