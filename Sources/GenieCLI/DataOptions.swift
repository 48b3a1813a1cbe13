import ArgumentParser
import Data
import Foundation
import Genie
import Models
import NN
import Tensors

/// torchvision's evaluation preprocessing of image files, shared by `--data` and `--real-folder`.
struct PreprocessingOptions: ParsableArguments {
    @Option(help: "Image files: resize the shorter side to N pixels first (bilinear, antialiased: torchvision's Resize(N)).")
    var resize: Int?
    @Option(help: "Image files: then center-crop to N x N (torchvision's CenterCrop(N)); N must be the model's --image-size.")
    var crop: Int?

    /// The pipeline for `spec`'s inputs: channels, size, `--resize`/`--crop`, the spec's mean and std.
    func preprocessing(_ spec: ModelSpec) throws -> Preprocessing {
        try Preprocessing(channels: spec.inChannels, size: spec.imageSize, resize: resize, crop: crop,
                          normalization: Normalization(mean: spec.mean, std: spec.std)).validated()
    }
}

/// The test images of `evaluate` and `run`: Fashion-MNIST's test split, or an image folder (`--data`).
struct TestData {
    /// What the images are, for messages ("fashion-mnist", or the folder's path).
    let name: String
    /// The images' count.
    let count: Int
    private let dataset: Dataset?
    private let folder: FolderBatches?
    private let normalization: Normalization
    private let batchSize: Int

    /// Fashion-MNIST's test split when `data` is nil (the model must take 1x28x28), else the folder `data`
    /// (its class count must not exceed the model's).
    init(data: String?, preprocessing: PreprocessingOptions, spec: ModelSpec, batchSize: Int) throws {
        normalization = Normalization(mean: spec.mean, std: spec.std)
        self.batchSize = batchSize
        guard let data else {
            guard preprocessing.resize == nil, preprocessing.crop == nil else {
                throw ValidationError("--resize and --crop apply to image files (--data DIR); Fashion-MNIST is read as it is")
            }
            let test = try FashionMNIST.load(split: .test)
            guard test.imageShape == [spec.inChannels, spec.imageSize, spec.imageSize] else {
                throw GenieError("the model expects \(spec.inChannels)x\(spec.imageSize)x\(spec.imageSize) inputs but fashion-mnist images are \(test.imageShape.map(String.init).joined(separator: "x")); evaluate it on an image folder with --data DIR")
            }
            (name, count, dataset, folder) = ("fashion-mnist", test.count, test, nil)
            return
        }
        let images = try ImageFolder(URL(fileURLWithPath: data))
        guard !images.classNames.isEmpty else {
            throw GenieError("--data '\(data)' has no class folders (torchvision's ImageFolder layout: one subfolder per class, named so that sorted names give the model's class indices)")
        }
        guard images.classNames.count <= spec.numClasses else {
            throw GenieError("--data '\(data)' has \(images.classNames.count) class folders but the model has \(spec.numClasses) classes (first folders: \(images.classNames.prefix(3).joined(separator: ", ")))")
        }
        let batches = try FolderBatches(images, batchSize: batchSize, preprocessing: preprocessing.preprocessing(spec))
        (name, count, dataset, folder) = (data, images.count, nil, batches)
    }

    /// Up to 64 model-ready images spread evenly over the set (every class, in class-sorted folders); nil if
    /// none of them could be read. Throws a configuration error (images of the wrong size) as evaluation would.
    func sample() throws -> Tensor? {
        let n = min(64, count), spread = (0..<n).map { $0 * count / n }
        guard let folder else { return try normalization.apply(dataset!.images(at: spread)) }
        let batches = try FolderBatches(folder.folder, indices: spread, batchSize: n, preprocessing: folder.preprocessing)
        let images = batches.batch(0).images
        try batches.throwIfStopped()
        return images.shape[0] > 0 ? images : nil
    }

    /// Top-1/top-5 of `model` on the images, and the batch-norm shift on 64 of them (warned about on
    /// standard error when large); files that could not be read are skipped with a warning (their count in `skipped`).
    func evaluate(_ model: Module, quiet: Bool, logits: ((Tensor) -> Void)? = nil) throws -> (accuracy: Accuracy, skipped: Int, shift: BatchNormShift?) {
        let shift = try sample().map { BatchNormShift(model: model, images: $0) }
        if let warning = shift?.warning { log(warning) }
        guard let folder else {
            return try (Genie.evaluate(model, on: dataset!, normalization: normalization, batchSize: batchSize, quiet: quiet, logits: logits), 0, shift)
        }
        let accuracy = try Genie.evaluate(model, batches: folder, total: count, quiet: quiet, logits: logits)
        try folder.throwIfStopped()
        let skipped = folder.skipped
        if !skipped.isEmpty {
            log("warning: skipped \(skipped.count) of \(count) files that could not be read; accuracy is over the other \(accuracy.count):")
            for error in skipped.prefix(5) { log("  \(error)") }
            if skipped.count > 5 { log("  ... and \(skipped.count - 5) more") }
        }
        guard accuracy.count > 0 else { throw GenieError("--data '\(name)': no image could be read") }
        return (accuracy, skipped.count, shift)
    }
}
