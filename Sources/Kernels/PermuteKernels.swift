/// Axis permutation of a row-major array (`Tensor.transposed(_:)`).
public enum PermuteKernels {
    /// `dst[j] = src[i]` where output index j, read in the permuted shape `shape[perm[0]], shape[perm[1]], ...`,
    /// names the input index i of `shape` with `i[perm[k]] = j[k]`. Walks the output in order, stepping the input
    /// by its strides (an odometer over the output's dimensions).
    public static func permute(_ src: FloatBuffer, _ dst: FloatBuffer, shape: [Int], perm: [Int]) {
        let count = shape.reduce(1, *)
        guard count > 0 else { return }
        var inputStrides = [Int](repeating: 1, count: shape.count)
        for d in shape.indices.dropLast().reversed() { inputStrides[d] = inputStrides[d + 1] * shape[d + 1] }
        let outShape = perm.map { shape[$0] }, steps = perm.map { inputStrides[$0] }
        var index = [Int](repeating: 0, count: shape.count), from = 0
        let s = src.pointer, d = dst.pointer
        for j in 0..<count {
            d[j] = s[from]
            var k = shape.count - 1
            while k >= 0 {
                index[k] += 1
                from += steps[k]
                if index[k] < outShape[k] { break }
                from -= steps[k] * outShape[k]
                index[k] = 0
                k -= 1
            }
        }
    }
}
