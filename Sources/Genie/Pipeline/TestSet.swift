import Data
import Foundation
import Models
import NN
import Tensors

/// The images a model's accuracy is measured on.
public enum TestData: Sendable, Equatable {
    /// Fashion-MNIST's test split (10,000 images, 1x28x28).
    case fashionMNIST
    /// An image folder in torchvision's ImageFolder layout (one subfolder per class, sorted names giving the
    /// class indices), read with torchvision's evaluation preprocessing (`resize`, then `crop`).
    case folder(URL, resize: Int? = nil, crop: Int? = nil)
}

/// What evaluating a model on a `TestSet` measured.
public struct TestResult: Sendable {
    /// Top-1 (and top-5) over the images read.
    public var accuracy: Accuracy
    /// Files of an image folder that could not be read (skipped).
    public var skipped: Int
    /// How far the batch norms' inputs are from their stored statistics, on up to 64 test images.
    public var shift: BatchNormShift?
}

/// Test images ready for a model of a given spec.
public struct TestSet {
    /// What the images are, for messages and reports ("fashion-mnist", or the folder's path).
    public let name: String
    /// The images' count.
    public let count: Int
    private let dataset: Dataset?
    private let folder: FolderBatches?
    private let normalization: Normalization
    /// Images per evaluation batch.
    let batchSize: Int

    /// `data` for a model of `spec`: Fashion-MNIST needs a 1x28x28 model, a folder at most the model's classes.
    /// Evaluated `batchSize` images at a time (nil: `defaultBatchSize` for the model's image size).
    public init(_ data: TestData, spec: ModelSpec, batchSize: Int? = nil) throws {
        normalization = Normalization(mean: spec.mean, std: spec.std)
        self.batchSize = batchSize ?? TestSet.defaultBatchSize(imageSize: spec.imageSize)
        switch data {
        case .fashionMNIST:
            let test = try FashionMNIST.load(split: .test)
            guard test.imageShape == [spec.inChannels, spec.imageSize, spec.imageSize] else {
                throw GenieError("the model expects \(spec.inChannels)x\(spec.imageSize)x\(spec.imageSize) inputs but fashion-mnist images are \(test.imageShape.map(String.init).joined(separator: "x")); evaluate it on an image folder")
            }
            (name, count, dataset, folder) = ("fashion-mnist", test.count, test, nil)
        case .folder(let url, let resize, let crop):
            let images = try ImageFolder(url)
            let path = url.relativePath
            guard !images.classNames.isEmpty else {
                throw GenieError("image folder '\(path)' has no class folders (torchvision's ImageFolder layout: one subfolder per class, named so that sorted names give the model's class indices)")
            }
            guard images.classNames.count <= spec.numClasses else {
                throw GenieError("image folder '\(path)' has \(images.classNames.count) class folders but the model has \(spec.numClasses) classes (first folders: \(images.classNames.prefix(3).joined(separator: ", ")))")
            }
            let preprocessing = try Preprocessing(channels: spec.inChannels, size: spec.imageSize, resize: resize, crop: crop,
                                                  normalization: normalization).validated()
            let batches = try FolderBatches(images, batchSize: self.batchSize, preprocessing: preprocessing)
            (name, count, dataset, folder) = (path, images.count, nil, batches)
        }
    }

    /// Images per evaluation batch for `imageSize`-square inputs: 500, or as many pixels as 128 images of 224x224 when
    /// that is fewer. A ResNet-18 at 224x224 evaluated 500 at a time held 4.4 GB and ran no faster than 128 at a time
    /// in 2.2 GB (BENCHMARKS.md, "Memory at 224x224 (issue 18)").
    public static func defaultBatchSize(imageSize: Int) -> Int {
        min(500, max(1, 128 * 224 * 224 / (imageSize * imageSize)))
    }

    /// Up to 64 model-ready images spread evenly over the set (every class, in class-sorted folders); nil if
    /// none of them could be read. Throws a configuration error (images of the wrong size) as evaluation would.
    public func sample() throws -> Tensor? {
        let n = min(64, count)
        return try images(at: (0..<n).map { $0 * count / n })
    }

    /// The model-ready images at `positions` (those that could be read; nil if none). Throws a configuration error
    /// (images of the wrong size) as evaluation would; files it cannot read are not counted among evaluation's skips.
    func images(at positions: [Int]) throws -> Tensor? {
        guard let folder else { return try normalization.apply(dataset!.images(at: positions)) }
        let batches = try FolderBatches(folder.folder, indices: positions, batchSize: positions.count,
                                        preprocessing: folder.preprocessing)
        let images = batches.batch(0).images
        try batches.throwIfStopped()
        return images.shape[0] > 0 ? images : nil
    }

    /// Top-1/top-5 of `model` on the images, and the batch-norm shift on 64 of them (a large one is warned about
    /// through `log`, naming what to check in `advice`'s words); files that cannot be read are skipped with a warning.
    /// `logits` sees each batch's logits.
    public func evaluate(_ model: Module, quiet: Bool = false, log: (String) -> Void = { _ in }, advice: ShiftAdvice = .library,
                         logits: ((Tensor) -> Void)? = nil) throws -> TestResult {
        let shift = try sample().map { BatchNormShift(model: model, images: $0) }
        if let warning = shift?.warning(advice: advice) { log(warning) }
        guard let folder else {
            let accuracy = try Genie.evaluate(model, on: dataset!, normalization: normalization, batchSize: batchSize,
                                              quiet: quiet, logits: logits)
            return TestResult(accuracy: accuracy, skipped: 0, shift: shift)
        }
        let accuracy = try Genie.evaluate(model, batches: folder, total: count, quiet: quiet, logits: logits)
        try folder.throwIfStopped()
        let skipped = folder.skipped
        if !skipped.isEmpty {
            log("warning: skipped \(skipped.count) of \(count) files that could not be read; accuracy is over the other \(accuracy.count):")
            for error in skipped.prefix(5) { log("  \(error)") }
            if skipped.count > 5 { log("  ... and \(skipped.count - 5) more") }
        }
        guard accuracy.count > 0 else { throw GenieError("image folder '\(name)': no image could be read") }
        return TestResult(accuracy: accuracy, skipped: skipped.count, shift: shift)
    }
}
