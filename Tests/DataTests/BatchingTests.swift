import Testing
import Tensors
import Data

@Suite struct BatchingTests {
    /// 10 images 1x2x3 whose pixels encode the image index: image i is all (i + 1) / 100.
    let dataset: Dataset = {
        let n = 10
        let scalars = (0..<n).flatMap { i in [Float](repeating: Float(i + 1) / 100, count: 6) }
        return Dataset(images: Tensor(shape: [n, 1, 2, 3], scalars: scalars), labels: Array(0..<n), classNames: [])
    }()

    func imageIDs(_ images: Tensor) -> [Int] {
        let s = images.scalars
        return (0..<images.shape[0]).map { Int((s[$0 * 6] * 100).rounded()) - 1 }
    }

    @Test func sequentialBatchesAndDropLast() throws {
        let keep = try BatchSampler(dataset, batchSize: 4)
        #expect(keep.batchCount == 3)
        #expect(keep.map(\.labels) == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]])
        #expect(keep.map { imageIDs($0.images) } == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]])
        #expect(keep.map(\.images.shape) == [[4, 1, 2, 3], [4, 1, 2, 3], [2, 1, 2, 3]])
        let drop = try BatchSampler(dataset, batchSize: 4, dropLast: true)
        #expect(drop.map(\.labels) == [[0, 1, 2, 3], [4, 5, 6, 7]])
        #expect(outcome { try BatchSampler(dataset, batchSize: 0) }.contains("batch size must be at least 1"))
        #expect(outcome { try BatchSampler(dataset, batchSize: 2, normalization: Normalization(mean: [0, 0, 0], std: [1, 1, 1])) }
            .contains("is for 3 channel(s)"))
    }

    @Test func shuffleIsAPermutationReproducibleFromTheSeed() throws {
        let a = try BatchSampler(dataset, batchSize: 3, shuffle: true, seed: 7)
        let b = try BatchSampler(dataset, batchSize: 3, shuffle: true, seed: 7)
        let c = try BatchSampler(dataset, batchSize: 3, shuffle: true, seed: 8)
        let labels = a.map(\.labels)
        #expect(labels == b.map(\.labels))
        #expect(labels.flatMap { $0 }.sorted() == Array(0..<10))
        #expect(labels.flatMap { $0 } != Array(0..<10))
        #expect(labels != c.map(\.labels))
        #expect(a.epoch(1).map(\.labels) != labels)
        #expect(a.epoch(1).map(\.labels) == b.epoch(1).map(\.labels))
        // Labels travel with their images.
        for batch in a { #expect(imageIDs(batch.images) == batch.labels) }
    }

    @Test func normalizationIsAppliedLast() throws {
        let norm = Normalization(mean: [0.5], std: [0.25])
        let sampler = try BatchSampler(dataset, batchSize: 10, normalization: norm)
        let batch = sampler.map(\.images)[0]
        #expect(maxDifference(batch.scalars, try norm.apply(dataset.images).scalars) == 0)
    }

    @Test func randomSubsetIsDistinctAndReproducible() throws {
        let a = try dataset.randomSubset(count: 4, seed: 1), b = try dataset.randomSubset(count: 4, seed: 1)
        #expect(a.labels == b.labels && Set(a.labels).count == 4)
        #expect(imageIDs(a.images) == a.labels)
        #expect(try dataset.randomSubset(count: 4, seed: 2).labels != a.labels)
        #expect(Set(try dataset.randomSubset(count: 10, seed: 3).labels) == Set(0..<10))
        #expect(outcome { try dataset.randomSubset(count: 11, seed: 1) }.contains("cannot draw 11 images from a data set of 10"))
    }

    @Test func augmentationCropsWithZeroPaddingAndFlips() {
        // One 1x4x4 image 1...16; every output must be a shifted, maybe mirrored copy with zeros.
        let image = Tensor(shape: [1, 1, 4, 4], scalars: (1...16).map(Float.init))
        let aug = Augmentation(padding: 2, horizontalFlip: true)
        var rng = SeededGenerator(seed: 5)
        var seen = Set<[Float]>()
        for _ in 0..<1000 {
            let out = aug.apply(image, using: &rng).scalars
            seen.insert(out)
            #expect(naiveVariants(image.scalars, size: 4, padding: 2).contains(out))
        }
        #expect(seen.count == 50)  // 5 x 5 offsets x 2 flips, all reached
        var r1 = SeededGenerator(seed: 9), r2 = SeededGenerator(seed: 9)
        let batch = Tensor(shape: [3, 2, 4, 4], scalars: (0..<96).map(Float.init))
        #expect(aug.apply(batch, using: &r1).scalars == aug.apply(batch, using: &r2).scalars)
        var r3 = SeededGenerator(seed: 1)
        #expect(Augmentation(padding: 0, horizontalFlip: false).apply(batch, using: &r3).scalars == batch.scalars)
    }

    @Test func augmentedBatchesAreReproducible() throws {
        let make = { try BatchSampler(self.dataset, batchSize: 4, shuffle: true, seed: 3, augmentation: Augmentation(padding: 1)) }
        let a = try make().map(\.images.scalars), b = try make().map(\.images.scalars)
        #expect(a == b)
        #expect(a != (try make().epoch(1).map(\.images.scalars)))
    }
}

/// Every crop (offsets 0...2p) of the zero-padded image and its mirror, computed the plain way.
func naiveVariants(_ image: [Float], size: Int, padding p: Int) -> [[Float]] {
    var out: [[Float]] = []
    for top in 0...(2 * p) {
        for left in 0...(2 * p) {
            var crop = [Float](repeating: 0, count: size * size)
            for y in 0..<size {
                for x in 0..<size {
                    let sy = y + top - p, sx = x + left - p
                    if sy >= 0 && sy < size && sx >= 0 && sx < size { crop[y * size + x] = image[sy * size + sx] }
                }
            }
            out.append(crop)
            out.append((0..<(size * size)).map { crop[($0 / size) * size + size - 1 - $0 % size] })
        }
    }
    return out
}
