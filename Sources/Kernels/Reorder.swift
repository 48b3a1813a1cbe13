import CDNNL
import Foundation

/// Conversions between plain NCHW and oneDNN's blocked `nChw<block>c` (`[N, C/block, H, W, block]`).
public enum Reorder {
    /// Channels per block of the blocked activation layout, following the CPU: 16 (`nChw16c`) where
    /// oneDNN runs AVX-512 kernels, 8 (`nChw8c`) on AVX2-only CPUs, whose fast convolutions want 8 (with
    /// 16 they reorder their activations around every call: ResNet-20's convs ~27% slower on a Zen 3).
    /// The channel kernels (batch norm, pooling, gather, elementwise) handle both widths.
    /// `GENIE_CHANNEL_BLOCK=8|16` forces one, for testing the other path.
    public static let block: Int = {
        if let forced = ProcessInfo.processInfo.environment["GENIE_CHANNEL_BLOCK"].flatMap(Int.init) {
            precondition(forced == 8 || forced == 16, "GENIE_CHANNEL_BLOCK must be 8 or 16, got \(forced)")
            return forced
        }
        let avx512 = dnnl_cpu_isa_avx512_core.rawValue
        return dnnl_get_effective_cpu_isa().rawValue & avx512 == avx512 ? 16 : 8
    }()

    /// NCHW -> blocked. `channels` must be a multiple of `block`.
    public static func toBlocked(_ src: FloatBuffer, _ dst: FloatBuffer, batch: Int, channels: Int, spatial: Int) {
        let src = src.pointer, dst = dst.pointer
        let block = self.block, blocks = channels / block
        parallelChunks(batch * blocks, costPerItem: block * spatial) { r in
            for nb in r {
                let n = nb / blocks, cb = nb % blocks
                let s0 = src + (n &* channels &+ cb &* block) &* spatial
                let d0 = dst + nb &* spatial &* block
                for l in 0..<block {
                    let s = s0 + l &* spatial
                    for p in 0..<spatial { d0[p &* block &+ l] = s[p] }
                }
            }
        }
    }

    /// Blocked -> NCHW. `channels` must be a multiple of `block`.
    public static func toPlain(_ src: FloatBuffer, _ dst: FloatBuffer, batch: Int, channels: Int, spatial: Int) {
        let src = src.pointer, dst = dst.pointer
        let block = self.block, blocks = channels / block
        parallelChunks(batch * blocks, costPerItem: block * spatial) { r in
            for nb in r {
                let n = nb / blocks, cb = nb % blocks
                let s0 = src + nb &* spatial &* block
                let d0 = dst + (n &* channels &+ cb &* block) &* spatial
                for l in 0..<block {
                    let d = d0 + l &* spatial
                    for p in 0..<spatial { d[p] = s0[p &* block &+ l] }
                }
            }
        }
    }
}
