/// Conversions between plain NCHW and oneDNN's nChw16c (`[N, C/16, H, W, 16]`).
public enum Reorder {
    /// NCHW -> nChw16c. `channels` must be a multiple of 16.
    public static func toBlocked(_ src: FloatBuffer, _ dst: FloatBuffer, batch: Int, channels: Int, spatial: Int) {
        let src = src.pointer, dst = dst.pointer
        let blocks = channels / 16
        parallelChunks(batch * blocks, costPerItem: 16 * spatial) { r in
            for nb in r {
                let n = nb / blocks, cb = nb % blocks
                let s0 = src + (n &* channels &+ cb &* 16) &* spatial
                let d0 = dst + nb &* spatial &* 16
                for l in 0..<16 {
                    let s = s0 + l &* spatial
                    for p in 0..<spatial { d0[p &* 16 &+ l] = s[p] }
                }
            }
        }
    }

    /// nChw16c -> NCHW. `channels` must be a multiple of 16.
    public static func toPlain(_ src: FloatBuffer, _ dst: FloatBuffer, batch: Int, channels: Int, spatial: Int) {
        let src = src.pointer, dst = dst.pointer
        let blocks = channels / 16
        parallelChunks(batch * blocks, costPerItem: 16 * spatial) { r in
            for nb in r {
                let n = nb / blocks, cb = nb % blocks
                let s0 = src + nb &* spatial &* 16
                let d0 = dst + (n &* channels &+ cb &* 16) &* spatial
                for l in 0..<16 {
                    let d = d0 + l &* spatial
                    for p in 0..<spatial { d[p] = s0[p &* 16 &+ l] }
                }
            }
        }
    }
}
