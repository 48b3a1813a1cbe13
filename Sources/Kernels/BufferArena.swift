#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// Address space reserved once for float buffers, handed out best-fit and coalesced when freed, backed by
/// transparent huge pages on Linux.
///
/// Two arenas serve `FloatBuffer`: `large` the buffers above `BufferPool.largest`, `pooled` the pool's buffers of
/// `BufferPool.smallestFromArena` floats and more. In glibc's heap, small blocks (pooled buffers, arrays, objects)
/// land between the large ones and keep freed large blocks from merging: distilling ResNet-18 at 224x224 reached
/// 9-10 GB where 5.7 GB was live (BENCHMARKS.md, "Memory at 224x224"). Mapping each large buffer on its own leaves
/// nothing behind, but pays a page fault per page every iteration. Here freed spans keep their pages for the next
/// buffer, and the reservation asks for huge pages: the first use faults 2 MiB at a time, and the loops over
/// activations miss the TLB less (ResNet-20's workloads at 28x28 ran up to 10% faster: BENCHMARKS.md, "Engine
/// speed"). Like glibc's heap under `ck_keep_freed_memory`, an arena never gives pages back while the process runs:
/// its resident share stays at its high-water mark.
package final class BufferArena: Sendable {
    /// The buffers above `BufferPool.largest`: 1 TiB of address space, none of it memory until used, in 2 MiB
    /// grains (a huge page on x86-64).
    package static let large = BufferArena(reserving: 1 << 40, grain: 2 << 20)
    /// The pool's larger buffers, which it keeps by exact size, away from `large`'s spans: 256 GiB of address space
    /// in 64 KiB grains (a quarter of the smallest such buffer at most).
    package static let pooled = BufferArena(reserving: 1 << 38, grain: 64 << 10)
    /// The writable prefix grows by whole huge pages, so that every grain can be backed by one.
    package static let hugePage = 2 << 20

    /// Every size is rounded up to this, and every span starts on a multiple of it.
    package let grain: Int
    private struct Span { var offset: Int, size: Int }
    private struct State {
        var free: [Span] = []  // in address order, disjoint, never adjacent, all below `top`
        var top = 0  // the end of the spans in use
        var committed = 0  // the readable and writable prefix: the most `top` has ever been, in whole huge pages
    }
    private let mapping: UInt  // the reservation as mapped; 0 when it failed
    private let mappedBytes: Int
    private let base: UInt  // `mapping` rounded up to a huge page
    private let reserved: Int
    private let state = Mutex(State())

    /// An arena of at most `bytes` (halved until the system grants a reservation, down to 64 MiB; when none is
    /// granted, every buffer comes from the heap) handing out multiples of `grain` bytes, a power of two from 64 bytes
    /// to `hugePage`.
    package init(reserving bytes: Int, grain: Int) {
        precondition(grain >= 64 && grain <= Self.hugePage && grain & (grain - 1) == 0, "bad arena grain \(grain)")
        self.grain = grain
        var size = bytes
        var mapped: UnsafeMutableRawPointer? = nil
        while mapped == nil, size >= 64 << 20 {
            let p = mmap(nil, size + Self.hugePage, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0)
            if p != UnsafeMutableRawPointer(bitPattern: -1) { mapped = p } else { size /= 2 }
        }
        mapping = mapped.map { UInt(bitPattern: $0) } ?? 0
        mappedBytes = mapped == nil ? 0 : size + Self.hugePage
        base = mapping == 0 ? 0 : (mapping + UInt(Self.hugePage) - 1) & ~UInt(Self.hugePage - 1)
        reserved = mapping == 0 ? 0 : size
        #if os(Linux)
        if let mapped { _ = madvise(mapped, mappedBytes, MADV_HUGEPAGE) }  // a hint: without it, 4 KiB pages
        #endif
    }

    deinit { if mapping != 0 { munmap(UnsafeMutableRawPointer(bitPattern: mapping), mappedBytes) } }

    /// The writable bytes: the most ever in use at once (counting the gaps between them), rounded up to a huge page.
    package var highWater: Int { state.withLock { $0.committed } }

    /// The bytes in use now, counting the gaps between them.
    package var extent: Int { state.withLock { $0.top } }

    /// `byteCount` bytes on a multiple of the grain: the smallest free span that holds them, else the end of the spans in
    /// use. From the heap (64-byte aligned) when the reservation is exhausted or was never granted.
    package func allocate(byteCount: Int) -> UnsafeMutableRawPointer {
        let size = roundUp(max(byteCount, 1))
        let offset: Int? = base == 0 ? nil : state.withLock { s in
            if let i = s.free.indices.filter({ s.free[$0].size >= size }).min(by: { s.free[$0].size < s.free[$1].size }) {
                let offset = s.free[i].offset
                s.free[i].offset += size
                s.free[i].size -= size
                if s.free[i].size == 0 { s.free.remove(at: i) }
                return offset
            }
            let end = s.top + size
            guard end <= reserved else { return nil }
            if end > s.committed {
                let grown = min(reserved, (end + Self.hugePage - 1) / Self.hugePage * Self.hugePage)
                guard mprotect(address(s.committed), grown - s.committed, PROT_READ | PROT_WRITE) == 0 else { return nil }
                s.committed = grown
            }
            defer { s.top = end }
            return s.top
        }
        return offset.map(address) ?? UnsafeMutableRawPointer.allocate(byteCount: byteCount, alignment: 64)
    }

    /// Returns `byteCount` bytes at `pointer` from `allocate(byteCount:)`, merged with the free spans beside them.
    /// Their pages stay mapped for the next buffer.
    package func deallocate(_ pointer: UnsafeMutableRawPointer, byteCount: Int) {
        let at = UInt(bitPattern: pointer)
        guard base != 0, at >= base, at < base + UInt(reserved) else { return pointer.deallocate() }
        var span = Span(offset: Int(at - base), size: roundUp(max(byteCount, 1)))
        state.withLock { s in
            var i = s.free.firstIndex { $0.offset > span.offset } ?? s.free.count  // where the span goes
            if i < s.free.count, span.offset + span.size == s.free[i].offset {
                span.size += s.free[i].size
                s.free.remove(at: i)
            }
            if i > 0, s.free[i - 1].offset + s.free[i - 1].size == span.offset {
                i -= 1
                span.offset = s.free[i].offset
                span.size += s.free[i].size
                s.free.remove(at: i)
            }
            if span.offset + span.size == s.top {
                s.top = span.offset
            } else {
                s.free.insert(span, at: i)
            }
        }
    }

    private func roundUp(_ bytes: Int) -> Int { (bytes + grain - 1) / grain * grain }

    private func address(_ offset: Int) -> UnsafeMutableRawPointer { UnsafeMutableRawPointer(bitPattern: base + UInt(offset))! }
}
