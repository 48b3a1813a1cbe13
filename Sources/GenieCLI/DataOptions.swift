import ArgumentParser
import Foundation
import Genie
import Models

/// torchvision's evaluation preprocessing of image files, shared by `--data` and `--real-folder`.
struct PreprocessingOptions: ParsableArguments {
    @Option(help: "Image files: resize the shorter side to N pixels first (bilinear, antialiased: torchvision's Resize(N)).")
    var resize: Int?
    @Option(help: "Image files: then center-crop to N x N (torchvision's CenterCrop(N)); N must be the model's --image-size.")
    var crop: Int?

    /// Throws unless the flags are unset: `--resize` and `--crop` apply to image files only (given by `flag`).
    func checkUnused(without flag: String) throws {
        guard resize == nil, crop == nil else { throw ValidationError("--resize and --crop apply to image files (\(flag) DIR)") }
    }
}

/// The test images of `evaluate` and `run`: Fashion-MNIST's test split, or the image folder `--data`.
struct TestDataOptions: ParsableArguments {
    @Option(help: "An image folder in torchvision's ImageFolder layout (one subfolder per class, JPEG/PNG files) to measure accuracy on (default: Fashion-MNIST's test set).")
    var data: String?
    @OptionGroup var preprocessing: PreprocessingOptions

    /// The flags that shape a model's inputs, for the warning about batch-norm statistics.
    static let shiftAdvice = ShiftAdvice(preprocessing: "--mean/--std, --resize/--crop and --in-channels",
                                         modelOptions: "the model options (e.g. --stem-stride), then --mean/--std, --resize/--crop")

    /// The test data the flags name.
    func testData() throws -> TestData {
        guard let data else {
            try preprocessing.checkUnused(without: "--data")
            return .fashionMNIST
        }
        return .folder(URL(fileURLWithPath: data), resize: preprocessing.resize, crop: preprocessing.crop)
    }

    /// The test images for `spec`'s model, read in batches of `batchSize` (nil: `TestSet`'s default for the size).
    func testSet(spec: ModelSpec, batchSize: Int?) throws -> TestSet {
        try TestSet(testData(), spec: spec, batchSize: batchSize)
    }
}
