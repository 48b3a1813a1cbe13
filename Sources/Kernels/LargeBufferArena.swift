#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// Address space reserved once for the buffers larger than `BufferPool.largest`, handed out best-fit and coalesced
/// when freed, so that small allocations never sit between large blocks.
///
/// In glibc's heap, small blocks (pooled buffers, arrays, objects) land between the large ones and keep freed large
/// blocks from merging: distilling ResNet-18 at 224x224 reached 9-10 GB where 5.7 GB was live (BENCHMARKS.md,
/// "Memory at 224x224"). Mapping each large buffer on its own leaves nothing behind, but pays a page fault per page
/// every iteration. Here freed spans keep their pages for the next buffer, and on Linux the reservation asks for
/// transparent huge pages, so a span is faulted in 2 MiB at a time the first time it is used. Like glibc's heap under
/// `ck_keep_freed_memory`, the arena never gives pages back while the process runs: its resident share stays at its
/// high-water mark.
package final class LargeBufferArena: Sendable {
    /// The arena every large `FloatBuffer` uses: 1 TiB of address space, none of it memory until used.
    package static let shared = LargeBufferArena(reserving: 1 << 40)
    /// Every size is rounded up to 2 MiB, a huge page on x86-64, and every span starts on one.
    package static let grain = 2 << 20

    private struct Span { var offset: Int, size: Int }
    private struct State {
        var free: [Span] = []  // in address order, disjoint, never adjacent, all below `top`
        var top = 0  // the end of the spans in use
        var committed = 0  // the readable and writable prefix: the most `top` has ever been
    }
    private let mapping: UInt  // the reservation as mapped; 0 when it failed
    private let mappedBytes: Int
    private let base: UInt  // `mapping` rounded up to the grain
    private let reserved: Int
    private let state = Mutex(State())

    /// An arena of at most `bytes` (halved until the system grants a reservation, down to 64 MiB; when none is
    /// granted, every buffer comes from the heap).
    package init(reserving bytes: Int) {
        var size = bytes
        var mapped: UnsafeMutableRawPointer? = nil
        while mapped == nil, size >= 64 << 20 {
            let p = mmap(nil, size + Self.grain, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0)
            if p != UnsafeMutableRawPointer(bitPattern: -1) { mapped = p } else { size /= 2 }
        }
        mapping = mapped.map { UInt(bitPattern: $0) } ?? 0
        mappedBytes = mapped == nil ? 0 : size + Self.grain
        base = mapping == 0 ? 0 : (mapping + UInt(Self.grain) - 1) & ~UInt(Self.grain - 1)
        reserved = mapping == 0 ? 0 : size
        #if os(Linux)
        if let mapped { _ = madvise(mapped, mappedBytes, MADV_HUGEPAGE) }  // a hint: without it, 4 KiB pages
        #endif
    }

    deinit { if mapping != 0 { munmap(UnsafeMutableRawPointer(bitPattern: mapping), mappedBytes) } }

    /// The most bytes ever in use at once, counting the gaps between them: the arena's share of peak memory.
    package var highWater: Int { state.withLock { $0.committed } }

    /// The bytes in use now, counting the gaps between them.
    package var extent: Int { state.withLock { $0.top } }

    /// `byteCount` bytes aligned to the grain: the smallest free span that holds them, else the end of the spans in
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
                guard mprotect(address(s.committed), end - s.committed, PROT_READ | PROT_WRITE) == 0 else { return nil }
                s.committed = end
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
            let i = s.free.firstIndex { $0.offset > span.offset } ?? s.free.count
            if i < s.free.count, span.offset + span.size == s.free[i].offset {
                span.size += s.free[i].size
                s.free.remove(at: i)
            }
            if i > 0, s.free[i - 1].offset + s.free[i - 1].size == span.offset {
                span.offset = s.free[i - 1].offset
                span.size += s.free[i - 1].size
                s.free.remove(at: i - 1)
            }
            if span.offset + span.size == s.top {
                s.top = span.offset
            } else {
                s.free.insert(span, at: s.free.firstIndex { $0.offset > span.offset } ?? s.free.count)
            }
        }
    }

    private func roundUp(_ bytes: Int) -> Int { (bytes + Self.grain - 1) / Self.grain * Self.grain }

    private func address(_ offset: Int) -> UnsafeMutableRawPointer { UnsafeMutableRawPointer(bitPattern: base + UInt(offset))! }
}
