import Tensors

/// Labeled images in memory, served as float tensors `[N, C, H, W]` of pixels in [0, 1].
///
/// Images read from files are kept as their 8-bit pixels (a quarter of the memory: 47 MB for
/// Fashion-MNIST's training split) and converted to floats (`/ 255`, torchvision's `ToTensor`) only
/// when asked for, a batch at a time. Images made in memory (e.g. generated ones) are kept as floats.
public struct Dataset: Sendable {
    enum Storage: Sendable {
        case bytes([UInt8])  // planar [N, C, H, W], value / 255
        case floats(Tensor)  // plain [N, C, H, W]
    }
    let storage: Storage
    /// The shape of the whole set, `[N, C, H, W]`.
    public let shape: [Int]
    /// The class index of each image; `-1` marks an unlabeled image (e.g. a flat image folder).
    public let labels: [Int]
    /// The class names, indexed by label (empty when unlabeled).
    public let classNames: [String]

    /// A data set of float images `[N, C, H, W]` with `labels.count == N`.
    public init(images: Tensor, labels: [Int], classNames: [String] = []) {
        precondition(images.rank == 4 && images.shape[0] == labels.count,
                     "a Dataset needs images [N, C, H, W] and N labels, got \(images.shape) and \(labels.count) labels")
        self.storage = .floats(images.detached().converted(to: .plain))
        self.shape = images.shape
        self.labels = labels
        self.classNames = classNames
    }

    /// A data set of 8-bit images: `pixels` in planar `[N, C, H, W]` order, served as `pixels / 255`.
    public init(pixels: [UInt8], shape: [Int], labels: [Int], classNames: [String] = []) {
        precondition(shape.count == 4 && shape.allSatisfy { $0 >= 0 } && shape.reduce(1, *) == pixels.count
                     && shape[0] == labels.count,
                     "a Dataset needs pixels of shape [N, C, H, W] and N labels, got \(pixels.count) pixels, shape \(shape), \(labels.count) labels")
        self.storage = .bytes(pixels)
        self.shape = shape
        self.labels = labels
        self.classNames = classNames
    }

    /// The number of images.
    public var count: Int { labels.count }
    /// The shape of one image, `[C, H, W]`.
    public var imageShape: [Int] { Array(shape.dropFirst()) }

    /// All images as one float tensor `[N, C, H, W]` (converted on each call for 8-bit storage).
    public var images: Tensor { images(at: Array(0..<count)) }

    /// The images at `indices` (in that order) as a new float tensor `[indices.count, C, H, W]`.
    public func images(at indices: [Int]) -> Tensor {
        let size = imageShape.reduce(1, *)
        precondition(indices.allSatisfy { (0..<count).contains($0) }, "image index out of range 0..<\(count)")
        switch storage {
        case .floats(let all): return all.gathered(batch: indices)
        case .bytes(let pixels):
            var scalars = [Float]()
            scalars.reserveCapacity(indices.count * size)
            for i in indices { scalars += pixels[(i * size)..<((i + 1) * size)].map { Float($0) / 255 } }
            return Tensor(shape: [indices.count] + imageShape, scalars: scalars)
        }
    }

    /// The images and labels at `indices`, in that order.
    public func subset(_ indices: [Int]) -> Dataset {
        let labels = indices.map { self.labels[$0] }
        switch storage {
        case .floats: return Dataset(images: images(at: indices), labels: labels, classNames: classNames)
        case .bytes(let pixels):
            let size = imageShape.reduce(1, *)
            var out = [UInt8]()
            out.reserveCapacity(indices.count * size)
            for i in indices { out += pixels[(i * size)..<((i + 1) * size)] }
            return Dataset(pixels: out, shape: [indices.count] + imageShape, labels: labels, classNames: classNames)
        }
    }

    /// `count` distinct images drawn uniformly at random (reproducibly from `seed`), in draw order:
    /// the few-shot setting's "N random training images".
    public func randomSubset(count n: Int, seed: UInt64) throws -> Dataset {
        guard (0...count).contains(n) else {
            throw DataError(path: "<dataset>", reason: "cannot draw \(n) images from a data set of \(count)")
        }
        return subset(randomDraw(n, of: count, seed: seed))
    }

    /// How many images carry each label `0..<classNames.count` (unlabeled and out-of-range labels are not counted).
    public var classCounts: [Int] {
        var counts = [Int](repeating: 0, count: classNames.count)
        for l in labels where counts.indices.contains(l) { counts[l] += 1 }
        return counts
    }
}

/// `n` distinct positions of `0..<count` drawn uniformly at random from `seed` (a partial Fisher-Yates shuffle),
/// in draw order: the one draw of `Dataset.randomSubset` and `ImageFolder.randomIndices`.
func randomDraw(_ n: Int, of count: Int, seed: UInt64) -> [Int] {
    var rng = SeededGenerator(seed: seed)
    var order = Array(0..<count)
    for i in 0..<n { order.swapAt(i, i + uniformIndex(count - i, &rng)) }
    return Array(order.prefix(n))
}

/// A uniform integer in `0..<n` (`n > 0`): Lemire's multiply-high, bias below 2^-32 for any data set size.
func uniformIndex(_ n: Int, _ rng: inout SeededGenerator) -> Int {
    Int(rng.next().multipliedFullWidth(by: UInt64(n)).high)
}
