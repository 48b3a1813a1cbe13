import Tensors

/// Mini-batches of a data set, as PyTorch's `DataLoader(dataset, batch_size, shuffle, drop_last)`
/// with a seeded generator: epoch `e`'s order and augmentation draws depend only on `(seed, e)`.
///
/// Each batch is `(images [B, C, H, W], labels)`: gathered, augmented in pixel scale, then normalized.
public struct BatchSampler: Sequence, Sendable {
    /// The data set sampled.
    public let dataset: Dataset
    /// Images per batch (the last batch may be smaller unless `dropLast`).
    public let batchSize: Int
    /// Whether each epoch visits the images in a fresh random order.
    public let shuffle: Bool
    /// Whether to drop a last, incomplete batch.
    public let dropLast: Bool
    /// The seed of the shuffling and augmentation streams.
    public let seed: UInt64
    /// Augmentation applied to every batch (training), or nil.
    public let augmentation: Augmentation?
    /// Normalization applied last, or nil for pixels in [0, 1].
    public let normalization: Normalization?

    /// A sampler over `dataset`. Throws if `batchSize < 1` or `normalization` does not fit the
    /// data set's channel count.
    public init(_ dataset: Dataset, batchSize: Int, shuffle: Bool = false, dropLast: Bool = false,
                seed: UInt64 = 0, augmentation: Augmentation? = nil, normalization: Normalization? = nil) throws {
        guard batchSize >= 1 else { throw DataError(path: "<BatchSampler>", reason: "batch size must be at least 1, got \(batchSize)") }
        if let normalization { _ = try normalization.parameters(for: dataset.images(at: [])) }
        self.dataset = dataset
        self.batchSize = batchSize
        self.shuffle = shuffle
        self.dropLast = dropLast
        self.seed = seed
        self.augmentation = augmentation
        self.normalization = normalization
    }

    /// Batches per epoch.
    public var batchCount: Int {
        dropLast ? dataset.count / batchSize : (dataset.count + batchSize - 1) / batchSize
    }

    /// The order in which epoch `epoch` visits the data set (identity when not shuffling).
    public func order(epoch: Int) -> [Int] {
        var order = Array(0..<dataset.count)
        guard shuffle else { return order }
        var rng = SeededGenerator(seed: seed, stream: UInt64(truncatingIfNeeded: epoch))
        for i in stride(from: order.count - 1, to: 0, by: -1) { order.swapAt(i, uniformIndex(i + 1, &rng)) }
        return order
    }

    /// The batches of epoch `epoch`.
    public func epoch(_ epoch: Int) -> Iterator { Iterator(sampler: self, epoch: epoch, order: order(epoch: epoch)) }

    /// The batches of epoch 0.
    public func makeIterator() -> Iterator { epoch(0) }

    /// Batch `index` of an epoch whose order is `order`.
    func batch(_ index: Int, epoch: Int, order: [Int]) -> (images: Tensor, labels: [Int]) {
        let indices = Array(order[(index * batchSize)..<Swift.min(order.count, (index + 1) * batchSize)])
        var images = dataset.images(at: indices)
        if let augmentation {
            var rng = SeededGenerator(seed: seed ^ 0xA0A0_5EED, stream: UInt64(truncatingIfNeeded: epoch) << 32 | UInt64(index))
            images = augmentation.apply(images, using: &rng)
        }
        if let normalization, let normalized = try? normalization.apply(images) { images = normalized }  // checked in init
        return (images, indices.map { dataset.labels[$0] })
    }

    /// Iterates over one epoch's batches.
    public struct Iterator: IteratorProtocol, Sequence {
        let sampler: BatchSampler, epoch: Int, order: [Int]
        var position = 0

        /// The next batch, or nil after the epoch's last one.
        public mutating func next() -> (images: Tensor, labels: [Int])? {
            guard position < sampler.batchCount else { return nil }
            defer { position += 1 }
            return sampler.batch(position, epoch: epoch, order: order)
        }
    }
}
