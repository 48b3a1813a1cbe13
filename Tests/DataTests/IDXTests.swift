import Foundation
import Testing
import Tensors
import Data

@Suite struct IDXTests {
    @Test func serializeParseRoundTrip() throws {
        let a = IDXArray(shape: [3, 2, 4], bytes: testBytes(24, seed: 1))
        let file = IDX.serialize(a)
        #expect(file.prefix(4) == [0, 0, 8, 3])
        #expect(try IDX.parse(file) == a)
    }

    @Test func malformedFilesAreRejectedWithTheReason() {
        let good = IDX.serialize(IDXArray(shape: [2, 3], bytes: [1, 2, 3, 4, 5, 6]))
        func reason(_ bytes: [UInt8]) -> String { outcome { try IDX.parse(bytes, path: "x.idx") } }
        #expect(reason([0, 0]) == "x.idx: IDX file is truncated: 2 bytes, shorter than the 4-byte magic number")
        #expect(reason([1] + good.dropFirst()).contains("bad magic number 01 00 08 02"))
        #expect(reason(Zlib.deflate(good, gzip: true)).contains("gzip-compressed"))
        #expect(reason([0, 0, 0x0D] + good.dropFirst(3)).contains("element type 0x0D (float32)"))
        #expect(reason([0, 0, 8, 0]).contains("0 dimensions"))
        #expect(reason(Array(good.prefix(9))).contains("shorter than the 12-byte header of 2 dimensions"))
        #expect(reason(Array(good.dropLast())) == "x.idx: IDX file is truncated: dimensions [2, 3] need 6 bytes of data but the file holds 5")
        #expect(reason(good + [0]).contains("has the wrong size: dimensions [2, 3] need 6 bytes of data but the file holds 7"))
        var huge = good
        huge.replaceSubrange(4..<12, with: [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF])
        #expect(reason(huge).contains("is truncated: dimensions [4294967295, 4294967295]"))
    }

    @Test func readsGzipAndPlainFilesAndNamesMissingOnes() throws {
        try withTemporaryDirectory { dir in
            let a = IDXArray(shape: [4], bytes: [9, 0, 0, 3])
            let gz = dir.appendingPathComponent("a.gz"), plain = dir.appendingPathComponent("a")
            try Data(Zlib.deflate(IDX.serialize(a), gzip: true)).write(to: gz)
            try Data(IDX.serialize(a)).write(to: plain)
            #expect(try IDX.read(gz) == a)
            #expect(try IDX.read(plain) == a)
            let truncated = dir.appendingPathComponent("t.gz")
            try Data(Zlib.deflate(IDX.serialize(a), gzip: true).dropLast(5)).write(to: truncated)
            #expect(outcome { try IDX.read(truncated) } .hasPrefix("\(truncated.path): gzip data is truncated"))
            #expect(outcome { try IDX.read(dir.appendingPathComponent("none")) }.hasSuffix("none: no such file"))
        }
    }
}

@Suite struct FashionMNISTTests {
    @Test func trainSplit() throws {
        let train = try FashionMNIST.load(split: .train)
        #expect(train.shape == [60000, 1, 28, 28])
        #expect(train.count == 60000)
        #expect(train.classCounts == Array(repeating: 6000, count: 10))
        #expect(Array(train.labels.prefix(5)) == [9, 0, 0, 3, 0])
        #expect(train.classNames[train.labels[0]] == "Ankle boot")
        // Pixel sums from numpy: image 0, the last image, and the first 6000 images.
        func byteSum(_ t: Tensor) -> Int { t.scalars.reduce(0) { $0 + Int(($1 * 255).rounded()) } }
        #expect(byteSum(train.images(at: [0])) == 76247)
        #expect(byteSum(train.images(at: [59999])) == 16684)
        let head = train.images(at: Array(0..<6000))
        #expect(byteSum(head) == 342_670_278)
        let values = head.scalars
        #expect(values.min() == 0 && values.max() == 1)
        #expect(abs(head.mean().item - 0.285672834) < 1e-5)
    }

    @Test func testSplit() throws {
        let test = try FashionMNIST.load(split: .test)
        #expect(test.shape == [10000, 1, 28, 28])
        #expect(test.classCounts == Array(repeating: 1000, count: 10))
        #expect(Array(test.labels.prefix(5)) == [9, 2, 1, 1, 6])
        #expect(test.images(at: [0]).scalars.reduce(0) { $0 + Int(($1 * 255).rounded()) } == 33456)
    }

    @Test func missingFilesNameThePackage() {
        let message = outcome { try FashionMNIST.load(split: .train, directory: URL(fileURLWithPath: "/nonexistent/fmnist")) }
        #expect(message.hasPrefix("/nonexistent/fmnist: the Fashion-MNIST train files are missing"))
        #expect(message.contains("install it with: apt-get install dataset-fashion-mnist"))
    }

    @Test func inconsistentFilesAreRejected() throws {
        try withTemporaryDirectory { dir in
            func put(_ name: String, _ shape: [Int], _ bytes: [UInt8]) throws {
                try Data(Zlib.deflate(IDX.serialize(IDXArray(shape: shape, bytes: bytes)), gzip: true))
                    .write(to: dir.appendingPathComponent(name))
            }
            try put("t10k-images-idx3-ubyte.gz", [3, 28, 28], testBytes(3 * 784, seed: 2))
            try put("t10k-labels-idx1-ubyte.gz", [2], [1, 2])
            #expect(outcome { try FashionMNIST.load(split: .test, directory: dir) }
                .contains("t10k-labels-idx1-ubyte.gz: holds 2 labels but t10k-images-idx3-ubyte.gz holds 3 images"))
            try put("t10k-labels-idx1-ubyte.gz", [3], [1, 12, 2])
            #expect(outcome { try FashionMNIST.load(split: .test, directory: dir) }.contains("label 12 at index 1 is not a class 0..<10"))
            try put("t10k-labels-idx1-ubyte.gz", [3], [1, 0, 2])
            let set = try FashionMNIST.load(split: .test, directory: dir)
            #expect(set.labels == [1, 0, 2] && set.images.shape == [3, 1, 28, 28])
        #expect(set.images.scalars.map { UInt8(($0 * 255).rounded()) } == testBytes(3 * 784, seed: 2))
            try put("t10k-images-idx3-ubyte.gz", [3, 27, 29], testBytes(3 * 27 * 29, seed: 2))
            #expect(outcome { try FashionMNIST.load(split: .test, directory: dir) }.contains("not Fashion-MNIST images [N, 28, 28]"))
        }
    }
}
