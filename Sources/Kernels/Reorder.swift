/// Conversions between plain NCHW and oneDNN's blocked `nChw<block>c` (`[N, C/block, H, W, block]`).
public enum Reorder {
    /// Channels per block of the blocked activation layout: 16 (`nChw16c`, what oneDNN's AVX-512
    /// kernels want). On AVX2-only CPUs oneDNN's fast convolutions want 8 (`nChw8c`); there the
    /// convolutions reorder their activations around each call (measured on a Zen 3: ResNet-20's convs
    /// take ~27% longer than on native 8-channel blocks). Making this 8 on AVX2 needs the 16-lane
    /// paths of the pooling, gather and batch-norm kernels generalized first (ChannelShape asserts 16).
    public static let block = 16

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
