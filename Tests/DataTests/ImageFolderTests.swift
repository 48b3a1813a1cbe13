import Foundation
import Testing
import Tensors
import Data

@Suite struct ImageFolderTests {
    @Test func loadsSortedFilesConvertingChannels() throws {
        try withTemporaryDirectory { dir in
            let rgb = PNGImage(width: 3, height: 2, channels: 3, pixels: [255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 20, 30, 0, 0, 0, 255, 255, 255])
            let gray = PNGImage(width: 3, height: 2, channels: 1, pixels: [0, 51, 102, 153, 204, 255])
            try PNG.write(rgb, to: dir.appendingPathComponent("b.png"))
            try PNG.write(gray, to: dir.appendingPathComponent("a.PNG"))
            try Data("notes".utf8).write(to: dir.appendingPathComponent("readme.txt"))
            try Data().write(to: dir.appendingPathComponent(".hidden.png"))
            let one = try ImageFolder.load(dir, channels: 1, size: (2, 3))
            #expect(one.images.shape == [2, 1, 2, 3])
            #expect(one.labels == [-1, -1] && one.classNames.isEmpty)
            // a.PNG first; b.png by luma: red 76, green 150, blue 29, (10,20,30) 18, black, white.
            #expect(one.images.scalars.map { Int(($0 * 255).rounded()) } == [0, 51, 102, 153, 204, 255, 76, 150, 29, 18, 0, 255])
            let three = try ImageFolder.load(dir, channels: 3, size: (2, 3))
            #expect(three.images.shape == [2, 3, 2, 3])
            let planes = three.images(at: [1]).scalars.map { Int(($0 * 255).rounded()) }
            #expect(planes == [255, 0, 0, 10, 0, 255, 0, 255, 0, 20, 0, 255, 0, 0, 255, 30, 0, 255])
            #expect(Array(three.images(at: [0]).scalars.prefix(6)) == Array(one.images(at: [0]).scalars))
        }
    }

    @Test func sizesAreCheckedOrResized() throws {
        try withTemporaryDirectory { dir in
            try PNG.write(PNGImage(width: 4, height: 4, channels: 1, pixels: Array(0..<16)), to: dir.appendingPathComponent("x.png"))
            let message = outcome { try ImageFolder.load(dir, channels: 1, size: (28, 28)) }
            #expect(message.hasSuffix("x.png: is 4x4 (height x width), but the model takes 28x28; resize it to 28x28 first"))
            let resized = try ImageFolder.load(dir, channels: 1, size: (2, 2), resize: .nearest)
            #expect(resized.images.scalars.map { Int(($0 * 255).rounded()) } == [5, 7, 13, 15])
        }
    }

    @Test func classSubfoldersGiveLabels() throws {
        try withTemporaryDirectory { dir in
            for (cls, n) in [("sneaker", 2), ("bag", 1)] {
                let sub = dir.appendingPathComponent(cls)
                try FileManager.default.createDirectory(at: sub, withIntermediateDirectories: true)
                for i in 0..<n {
                    try PNG.write(PNGImage(width: 2, height: 2, channels: 1, pixels: [UInt8](repeating: UInt8(i), count: 4)),
                                  to: sub.appendingPathComponent("\(i).png"))
                }
            }
            let set = try ImageFolder.load(dir, channels: 1, size: (2, 2))
            #expect(set.classNames == ["bag", "sneaker"])
            #expect(set.labels == [0, 1, 1])
        }
    }

    @Test func emptyOrWrongFoldersGetAClearError() throws {
        try withTemporaryDirectory { dir in
            #expect(outcome { try ImageFolder.load(dir, channels: 1, size: (28, 28)) } == "\(dir.path): has no PNG files (nor class subfolders holding them); the folder is empty")
            try Data().write(to: dir.appendingPathComponent("a.jpg"))
            #expect(outcome { try ImageFolder.load(dir, channels: 1, size: (28, 28)) }.hasSuffix("found 1 other entries: a.jpg"))
            #expect(outcome { try ImageFolder.load(dir.appendingPathComponent("a.jpg"), channels: 1, size: (28, 28)) }.hasSuffix("a.jpg: is a file, not a folder of PNG images"))
            #expect(outcome { try ImageFolder.load(dir.appendingPathComponent("nope"), channels: 1, size: (28, 28)) }.hasSuffix("nope: no such folder"))
            #expect(outcome { try ImageFolder.load(dir, channels: 2, size: (28, 28)) }.contains("1 or 3 channels, not 2"))
            try Data([1, 2, 3]).write(to: dir.appendingPathComponent("broken.png"))
            #expect(outcome { try ImageFolder.load(dir, channels: 1, size: (28, 28)) }.hasSuffix("broken.png: PNG file is not a PNG: the 8-byte PNG signature is missing"))
        }
    }
}
