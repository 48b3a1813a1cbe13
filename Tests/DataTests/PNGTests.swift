import Foundation
import Testing
import Data

@Suite struct PNGTests {
    static let pilFixtures = ["gray8", "rgb8", "rgba8", "graya8", "bw1", "palette8", "palette4", "palette2",
                              "palette1", "palette_trns"]

    @Test(arguments: pilFixtures + ["filters_rgb", "filters_graya", "gray2", "gray4"])
    func decodesFixturesLikePIL(_ name: String) throws {
        let image = try PNG.read(pngFixture(name))
        let expected = try expectedPixels(name + ".raw")
        #expect([image.height, image.width, image.channels] == expected.shape)
        #expect(image.pixels == expected.bytes)
    }

    @Test(arguments: pilFixtures)
    func convertsToGrayAndRGBLikePIL(_ name: String) throws {
        let image = try PNG.read(pngFixture(name))
        #expect(image.converted(toChannels: 1).pixels == (try expectedPixels(name + ".L")).bytes)
        #expect(image.converted(toChannels: 3).pixels == (try expectedPixels(name + ".RGB")).bytes)
    }

    @Test(arguments: 1...4)
    func writeReadRoundTrip(_ channels: Int) throws {
        let (w, h) = (29, 11)
        // Noise, smooth ramps and repeated rows, so the writer picks several filter types.
        let noise = testBytes(w * h * channels, seed: UInt64(channels))
        let pixels = (0..<(w * h * channels)).map { i -> UInt8 in
            let y = i / (w * channels), x = i % (w * channels)
            switch y % 4 {
            case 0: return noise[i]
            case 1: return UInt8(truncatingIfNeeded: 3 * x + y)
            case 2: return UInt8(truncatingIfNeeded: x * y)
            default: return UInt8(truncatingIfNeeded: (x + 2 * y) / 2)
            }
        }
        let image = PNGImage(width: w, height: h, channels: channels, pixels: pixels)
        let file = PNG.encode(image)
        #expect(try PNG.decode(file) == image)
        try withTemporaryDirectory { dir in
            let url = dir.appendingPathComponent("x.png")
            try PNG.write(image, to: url)
            #expect(try PNG.read(url) == image)
        }
    }

    @Test func writerUsesEveryFilterType() throws {
        // Rows built so that sub, up and average are each the best predictor somewhere.
        let w = 16
        var rows: [[UInt8]] = [testBytes(w, seed: 9)]
        rows.append((0..<w).map { UInt8(truncatingIfNeeded: 17 * $0) })  // ramp: sub
        rows.append(rows[1])  // repeat: up
        var avg = [UInt8](repeating: 0, count: w)
        for i in 0..<w { avg[i] = UInt8((Int(i > 0 ? avg[i - 1] : 0) + Int(rows[2][i])) / 2) }
        rows.append(avg)  // average
        let image = PNGImage(width: w, height: rows.count, channels: 1, pixels: rows.flatMap { $0 })
        let file = PNG.encode(image)
        #expect(Set(try pngFilterTypes(file)).isSuperset(of: [1, 2, 3]))
        #expect(try PNG.decode(file) == image)
    }

    @Test func unsupportedFilesGetAClearError() {
        #expect(outcome { try PNG.read(pngFixture("gray16")) }.hasSuffix("gray16.png: PNG file has 16 bits per sample, which is not supported: save it with 8 bits per sample"))
        #expect(outcome { try PNG.read(pngFixture("interlaced")) }.contains("interlaced.png: PNG file is interlaced (Adam7), which is not supported"))
        #expect(outcome { try PNG.decode([0xFF, 0xD8, 0xFF, 0xE0], path: "a.jpg") } == "a.jpg: PNG file is a JPEG, not a PNG (only PNG is supported)")
        #expect(outcome { try PNG.read(URL(fileURLWithPath: "/nonexistent.png")) } == "/nonexistent.png: no such file")
    }

    @Test func damagedFilesAreRejectedWithTheReason() throws {
        let good = PNG.encode(PNGImage(width: 5, height: 4, channels: 3, pixels: testBytes(60, seed: 3)))
        func reason(_ bytes: [UInt8]) -> String { outcome { try PNG.decode(bytes, path: "p.png") } }
        #expect(reason(Array(good.prefix(7))).contains("signature is missing"))
        #expect(reason(Array(good.prefix(15))).contains("is truncated: the chunk at byte 8 is cut short (7 bytes left)"))
        #expect(reason(Array(good.prefix(20))).contains("is truncated: chunk IHDR at byte 8 declares 13 bytes but 0 remain"))
        #expect(reason(Array(good.prefix(good.count - 12))).contains("ends before its IEND chunk"))
        var crc = good
        crc[20] ^= 1  // IHDR height
        #expect(reason(crc).contains("chunk IHDR at byte 8 has a bad CRC"))
        // Re-signed chunks that are wrong inside.
        func withChunk(_ type: String, _ body: [UInt8], replacing: String? = nil) -> [UInt8] {
            var chunks = chunkList(good)
            if let replacing, let i = chunks.firstIndex(where: { $0.type == replacing }) { chunks[i] = (type, body) }
            else { chunks.insert((type, body), at: 1) }
            return pngSignature + chunks.flatMap { pngChunk($0.type, $0.body) }
        }
        #expect(reason(withChunk("IHDR", be32(5) + be32(4) + [8, 5, 0, 0, 0], replacing: "IHDR")).contains("color type 5 does not exist"))
        #expect(reason(withChunk("IHDR", be32(0) + be32(4) + [8, 2, 0, 0, 0], replacing: "IHDR")).contains("size 0x4"))
        #expect(reason(withChunk("IHDR", be32(5) + be32(4) + [4, 2, 0, 0, 0], replacing: "IHDR")).contains("bit depth 4 is invalid for color type 2"))
        #expect(reason(withChunk("IHDR", be32(50000) + be32(50000) + [8, 6, 0, 0, 0], replacing: "IHDR")).contains("too large"))
        #expect(reason(withChunk("IHDR", be32(500) + be32(400) + [8, 2, 0, 0, 0], replacing: "IHDR")).contains("cannot hold a 500x400 image"))
        #expect(reason(withChunk("IHDR", be32(5) + be32(5) + [8, 2, 0, 0, 0], replacing: "IHDR")).contains("image data is truncated"))
        #expect(reason(withChunk("IHDR", be32(5) + be32(3) + [8, 2, 0, 0, 0], replacing: "IHDR")).contains("inflates to more than 48 bytes"))
        #expect(reason(withChunk("IDAT", Zlib.deflate([7] + [UInt8](repeating: 0, count: 63)), replacing: "IDAT")).contains("row 0 has filter type 7"))
        #expect(reason(withChunk("IDAT", [1, 2, 3], replacing: "IDAT")).contains("image data is corrupt"))
        #expect(reason(withChunk("ABCD", [])).contains("unsupported critical chunk ABCD"))
        #expect(reason(withChunk("tEXt", Array("Comment\0hello".utf8))) == "accepted")
        #expect(reason(withChunk("IHDR", be32(5) + be32(4) + [8, 2, 0, 0, 0])).contains("second IHDR"))
        #expect(reason(withChunk("IEND", [], replacing: "IDAT")).contains("no image data"))
        // Palette problems.
        let p = pngSignature + pngChunk("IHDR", be32(2) + be32(1) + [8, 3, 0, 0, 0])
        let data = pngChunk("IDAT", Zlib.deflate([0, 0, 2])), end = pngChunk("IEND", [])
        #expect(reason(p + data + end).contains("palette image without a PLTE chunk"))
        #expect(reason(p + pngChunk("PLTE", [1, 2, 3, 4, 5, 6]) + data + end).contains("palette index 2 is out of range (the palette has 2 entries)"))
        #expect(reason(p + pngChunk("PLTE", [1, 2, 3, 4]) + data + end).contains("PLTE chunk has 4 bytes"))
        #expect(reason(p + pngChunk("PLTE", [1, 2, 3]) + pngChunk("tRNS", [1, 2]) + data + end).contains("2 alpha values for 1 palette entries"))
        #expect(try PNG.decode(p + pngChunk("PLTE", [1, 2, 3, 4, 5, 6, 7, 8, 9]) + data + end).pixels == [1, 2, 3, 7, 8, 9])
    }
}

/// The chunks of a well-formed PNG file, in order.
func chunkList(_ png: [UInt8]) -> [(type: String, body: [UInt8])] {
    var out: [(String, [UInt8])] = [], o = 8
    while o + 12 <= png.count {
        let n = readBE32(png, o)
        out.append((String(decoding: png[(o + 4)..<(o + 8)], as: UTF8.self), Array(png[(o + 8)..<(o + 8 + n)])))
        o += 12 + n
    }
    return out
}
