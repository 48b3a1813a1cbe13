import Foundation
import Testing
import Tensors
import Data

/// torchvision's outputs on the committed image folders (`scripts/fixtures_imagefolder.py`).
func imageFolderExpected() throws -> SafeTensors {
    try SafeTensors(contentsOf: fixturesDirectory.appendingPathComponent("imagefolder_expected.safetensors"))
}

/// The largest difference between `bytes` and the fixture `key`'s U8 samples (planar [C, H, W] or [N, C, H, W]).
func largestDifference(_ bytes: [UInt8], _ key: String, in file: SafeTensors) throws -> Int {
    guard let e = file.entries[key] else { throw DataError(path: "imagefolder_expected.safetensors", reason: "has no \(key)") }
    #expect(e.bytes.count == bytes.count, "\(key): \(bytes.count) samples, torchvision has \(e.shape)")
    return zip(bytes, e.bytes).map { abs(Int($0) - Int($1)) }.max() ?? 0
}

/// Planar `[C, H, W]` bytes of an interleaved image.
func planar(_ image: PNGImage) -> [UInt8] {
    let n = image.width * image.height
    return (0..<image.channels).flatMap { c in (0..<n).map { image.pixels[$0 * image.channels + c] } }
}

/// Pixel-scale bytes of normalized-free batches (`mean 0, std 1`).
func bytes(_ images: Tensor) -> [UInt8] { images.scalars.map { UInt8(($0 * 255).rounded()) } }

@Suite struct ImageFolderTests {
    let rgbFolder = fixturesDirectory.appendingPathComponent("imagefolder_rgb")
    let grayFolder = fixturesDirectory.appendingPathComponent("imagefolder")

    @Test func jpegAndPNGFilesDecodeToPILsRGBPixelsExactly() throws {
        let expected = try imageFolderExpected()
        let folder = try ImageFolder(rgbFolder)
        #expect(folder.files.map { $0.path.replacingOccurrences(of: rgbFolder.path + "/", with: "") }.joined(separator: ",")
                == expected.metadata["rgb_files"])
        for (k, url) in folder.files.enumerated() {
            let image = try ImageFile.read(url).converted(toChannels: 3)
            #expect(try largestDifference(planar(image), "rgb/decoded/\(k)", in: expected) == 0, "\(url.lastPathComponent)")
        }
    }

    @Test func resizeAndCenterCropMatchTorchvisionExactly() throws {
        let expected = try imageFolderExpected()
        let folder = try ImageFolder(rgbFolder)
        for (k, url) in folder.files.enumerated() {
            let image = try ImageFile.read(url)
            var shorter = image.converted(toChannels: 3)
            let long = Int(Double(27 * max(shorter.height, shorter.width)) / Double(min(shorter.height, shorter.width)))
            shorter = shorter.height <= shorter.width ? shorter.resizedBilinear(height: 27, width: long) : shorter.resizedBilinear(height: long, width: 27)
            #expect(try largestDifference(planar(shorter), "rgb/resize27/\(k)", in: expected) == 0, "\(url.lastPathComponent)")
            let crop = Preprocessing(channels: 3, size: 24, resize: 27, crop: 24, normalization: Normalization(mean: [0, 0, 0], std: [1, 1, 1]))
            #expect(try largestDifference(planar(crop.pixels(image, path: url.path)), "rgb/resize27_crop24/\(k)", in: expected) == 0,
                    "\(url.lastPathComponent)")
        }
    }

    @Test func grayFolderBatchesMatchTorchvisionExactlyPlainAndResized() throws {
        let expected = try imageFolderExpected()
        let folder = try ImageFolder(grayFolder)
        #expect(folder.classNames == (0..<10).map(String.init))
        #expect(folder.labels == expected.entries["labels"]!.bytes.withUnsafeBytes { Array($0.bindMemory(to: Int64.self)) }.map(Int.init))
        for (key, resize, crop) in [("plain", nil, nil), ("resize32_crop28", 32, 28)] as [(String, Int?, Int?)] {
            let p = Preprocessing(channels: 1, size: 28, resize: resize, crop: crop, normalization: Normalization(mean: [0], std: [1]))
            let batches = try FolderBatches(folder, batchSize: 16, preprocessing: p)
            var all: [UInt8] = [], labels: [Int] = []
            for (images, l) in batches { all += bytes(images); labels += l }
            #expect(labels == folder.labels && batches.skipped.isEmpty)
            #expect(try largestDifference(all, "gray/\(key)", in: expected) == 0, "\(key)")
        }
    }

    @Test func filesAreListedAsTorchvisionsImageFolderListsThem() throws {
        try withTemporaryDirectory { dir in
            let image = PNG.encode(PNGImage(width: 2, height: 2, channels: 1, pixels: [0, 1, 2, 3]))
            for path in ["sneaker/b.png", "sneaker/a/z.PNG", "sneaker/a.txt", "bag/x.png", "bag/deep/er/y.jpeg", "top.png"] {
                let url = dir.appendingPathComponent(path)
                try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
                try Data(image).write(to: url)
            }
            let folder = try ImageFolder(dir)
            #expect(folder.classNames == ["bag", "sneaker"])
            #expect(folder.labels == [0, 0, 1, 1])
            #expect(folder.files.map { $0.path.replacingOccurrences(of: dir.path + "/", with: "") }
                    == ["bag/x.png", "bag/deep/er/y.jpeg", "sneaker/b.png", "sneaker/a/z.PNG"])
        }
    }

    @Test func aFlatFolderIsUnlabeledAndRandomIndicesFollowDatasetRandomSubset() throws {
        try withTemporaryDirectory { dir in
            let pixels = (0..<10).map { UInt8($0 * 20) }
            for (i, v) in pixels.enumerated() {
                try PNG.write(PNGImage(width: 2, height: 2, channels: 1, pixels: [v, v, v, v]), to: dir.appendingPathComponent("\(i).png"))
            }
            let folder = try ImageFolder(dir)
            #expect(folder.labels == Array(repeating: -1, count: 10) && folder.classNames.isEmpty)
            let indices = try folder.randomIndices(count: 4, seed: 7)
            let same = Dataset(pixels: pixels.flatMap { [$0, $0, $0, $0] }, shape: [10, 1, 2, 2], labels: Array(0..<10))
            #expect(indices == (try same.randomSubset(count: 4, seed: 7)).labels)
            let loaded = try folder.load(indices, preprocessing: Preprocessing(channels: 1, size: 2, normalization: Normalization(mean: [0], std: [1])))
            #expect(loaded.images.scalars == (try same.randomSubset(count: 4, seed: 7)).images.scalars)
        }
    }

    @Test func centerCropRoundsHalfToEvenAndPadsAsTorchvision() {
        let image = PNGImage(width: 5, height: 4, channels: 1, pixels: Array(0..<20))
        // (5 - 2) / 2 = 1.5 rounds to 2, (4 - 2) / 2 = 1.
        #expect(image.centerCropped(2).pixels == [7, 8, 12, 13])
        // 3 -> 1.5 -> 2 left, 4 - 1 = 3 -> 1.5 -> 2 top: Python's round(1.5) = 2, round(0.5) = 0.
        #expect(PNGImage(width: 2, height: 1, channels: 1, pixels: [1, 2]).centerCropped(1).pixels == [1])
        // Padded: 2x1 into 4x4: left (4 - 2) // 2 = 1, top (4 - 1) // 2 = 1.
        #expect(PNGImage(width: 2, height: 1, channels: 1, pixels: [1, 2]).centerCropped(4).pixels
                == [0, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0])
    }
}
