import Dispatch
import Foundation
import Tensors

/// Batches of an image folder read as they are needed: each batch's files are decoded and preprocessed in
/// parallel on every core, and the next batch is prepared while the caller works on the current one, so
/// memory holds two batches whatever the folder's size.
///
/// A file that cannot be read (corrupt, truncated, of another type or size) is skipped, not fatal: the
/// batch is shorter, and `skipped` lists it with the reason (an evaluation of 50,000 files goes on past
/// one bad file and says how many it left out).
public final class FolderBatches: Sequence, @unchecked Sendable {
    /// The folder read.
    public let folder: ImageFolder
    /// The file positions read, in this order.
    public let indices: [Int]
    /// Images per batch (fewer where files were skipped, and in the last batch).
    public let batchSize: Int
    /// How each image becomes the model's input (normalization included).
    public let preprocessing: Preprocessing
    private let lock = NSLock()
    private var skips: [DataError] = []
    private var fatal: (any Error)?

    /// Batches of the files at `indices` (default: all, in folder order).
    public init(_ folder: ImageFolder, indices: [Int]? = nil, batchSize: Int, preprocessing: Preprocessing) throws {
        guard batchSize >= 1 else { throw DataError(path: "<FolderBatches>", reason: "batch size must be at least 1, got \(batchSize)") }
        self.folder = folder
        self.indices = indices ?? Array(folder.files.indices)
        self.batchSize = batchSize
        self.preprocessing = try preprocessing.validated()
    }

    /// The files skipped so far, each error naming its file.
    public var skipped: [DataError] { lock.withLock { skips } }

    /// Throws the error that ended the iteration early: a file readable but not of the model's size after
    /// preprocessing (`ImageSizeError`: a configuration error, not one bad file).
    public func throwIfStopped() throws {
        if let fatal = lock.withLock({ fatal }) { throw fatal }
    }

    /// Batch `b`: `(images [n, C, H, W] normalized, labels)` for the files that could be read.
    public func batch(_ b: Int) -> (images: Tensor, labels: [Int]) {
        let positions = Array(indices[(b * batchSize)..<Swift.min(indices.count, (b + 1) * batchSize)])
        let p = preprocessing
        let images = Slots(positions.count)
        DispatchQueue.concurrentPerform(iterations: positions.count) { k in
            let url = folder.files[positions[k]]
            let image: PNGImage
            do { image = try ImageFile.read(url) } catch {
                let failure = error as? DataError ?? DataError(path: url.path, reason: "\(error)")
                lock.withLock { skips.append(failure) }
                return
            }
            do {
                let floats = p.normalized(try p.pixels(image, path: url.path))
                lock.withLock { images.values[k] = floats }
            } catch {
                lock.withLock { if fatal == nil { fatal = error } }
            }
        }
        let kept = images.values.indices.filter { images.values[$0] != nil }
        var scalars = [Float]()
        scalars.reserveCapacity(kept.count * p.channels * p.size * p.size)
        for k in kept { scalars += images.values[k]! }
        return (Tensor(shape: [kept.count, p.channels, p.size, p.size], scalars: scalars), kept.map { folder.labels[positions[$0]] })
    }

    /// The number of batches.
    public var batchCount: Int { (indices.count + batchSize - 1) / batchSize }

    /// Iterates over the batches, preparing each next one on a background thread.
    public func makeIterator() -> Iterator { Iterator(batches: self) }

    /// The batches in order, one prepared ahead.
    public struct Iterator: IteratorProtocol {
        let batches: FolderBatches
        var position = 0
        var ahead: Prefetch?

        /// The next batch (possibly shorter than `batchSize` after skips; never empty), or nil at the end
        /// (or at an error `throwIfStopped` throws).
        public mutating func next() -> (images: Tensor, labels: [Int])? {
            while position < batches.batchCount {
                if batches.lock.withLock({ batches.fatal != nil }) { return nil }
                let current = ahead ?? Prefetch(batches, position)
                position += 1
                ahead = position < batches.batchCount ? Prefetch(batches, position) : nil
                let batch = current.wait()
                if batches.lock.withLock({ batches.fatal != nil }) { return nil }
                if !batch.labels.isEmpty { return batch }
            }
            return nil
        }
    }

    /// One batch being prepared on a background thread.
    final class Prefetch: @unchecked Sendable {
        private let done = DispatchSemaphore(value: 0)
        private var result: (images: Tensor, labels: [Int])?

        init(_ batches: FolderBatches, _ index: Int) {
            DispatchQueue.global().async { [self] in
                result = batches.batch(index)
                done.signal()
            }
        }

        func wait() -> (images: Tensor, labels: [Int]) {
            done.wait()
            return result!
        }
    }

    /// One batch's normalized images as the workers of `concurrentPerform` leave them (under `lock`); nil: skipped.
    final class Slots: @unchecked Sendable {
        var values: [[Float]?]
        init(_ count: Int) { values = Array(repeating: nil, count: count) }
    }
}
