import Foundation
import Testing
import Tensors
import Data

/// Seeded mutation fuzzing of every parser: each mutated input must be read or rejected with an
/// error, never crash or hang. Mutations: bit flips, byte sets, truncations, insertions, deletions and
/// edits of the format's length fields; PNG chunks are re-signed half the time so that mutations get
/// past the CRC check into inflate, unfiltering and palette lookup. A hang fails the test at its time limit.
@Suite(.timeLimit(.minutes(2))) struct FuzzTests {
    @Test func pngDecoderSurvivesMutations() throws {
        let seeds = try ["gray8", "rgb8", "rgba8", "graya8", "bw1", "palette4", "palette_trns", "filters_rgb", "gray2"]
            .map { [UInt8](try Data(contentsOf: pngFixture($0))) }
        var fuzz = Mutator(seed: 1)
        var accepted = 0
        for i in 0..<12000 {
            var bytes = fuzz.mutate(seeds[i % seeds.count], fields: pngLengthFields(seeds[i % seeds.count]))
            if i % 2 == 0 { bytes = resign(bytes) }
            if (try? PNG.decode(bytes)) != nil { accepted += 1 }
        }
        // Structure-aware cases: valid headers, random raw rows (bad filter bytes, palette indices).
        for i in 0..<3000 {
            let color = [0, 2, 3, 4, 6][i % 5], depth = color == 0 || color == 3 ? [1, 2, 4, 8][i / 5 % 4] : 8
            let (w, h) = (1 + fuzz.below(9), 1 + fuzz.below(6))
            let samples = [0: 1, 2: 3, 3: 1, 4: 2, 6: 4][color]!
            let rowBytes = (w * samples * depth + 7) / 8
            var raw = fuzz.bytes(h * (rowBytes + 1) + (fuzz.below(8) == 0 ? fuzz.below(3) - 1 : 0))
            for y in 0..<h where y * (rowBytes + 1) < raw.count { raw[y * (rowBytes + 1)] = UInt8(fuzz.below(6)) }
            var file = pngSignature + pngChunk("IHDR", be32(w) + be32(h) + [UInt8(depth), UInt8(color), 0, 0, 0])
            if color == 3 { file += pngChunk("PLTE", fuzz.bytes(3 * (1 + fuzz.below(8)))) }
            file += pngChunk("IDAT", Zlib.deflate(raw)) + pngChunk("IEND", [])
            if (try? PNG.decode(file)) != nil { accepted += 1 }
        }
        #expect(accepted > 1000)  // the mutations do reach the decoder's later stages
    }

    @Test func jpegDecoderSurvivesMutations() throws {
        // Baseline, progressive, gray, CMYK and 4:4:4/4:2:2 files; after decoding, the resize and crop run too.
        let seeds = try ImageFolder(fixturesDirectory.appendingPathComponent("imagefolder_rgb")).files
            .filter { $0.pathExtension.lowercased().hasPrefix("jp") }.map { [UInt8](try Data(contentsOf: $0)) }
        #expect(seeds.count == 5)
        var fuzz = Mutator(seed: 5)
        var accepted = 0
        for i in 0..<6000 {
            let seed = seeds[i % seeds.count]
            // Length fields of the first markers (SOI at 0, then marker + 2-byte length): mutate whole words there.
            let bytes = fuzz.mutate(seed, fields: jpegMarkerOffsets(seed))
            guard let image = try? ImageFile.decode(bytes) else { continue }
            accepted += 1
            _ = image.converted(toChannels: 1).resizedBilinear(height: 1 + fuzz.below(40), width: 1 + fuzz.below(40)).centerCropped(1 + fuzz.below(30))
        }
        #expect(accepted > 500)  // mutations reach the entropy decoder and the conversions, not only the header checks
    }

    @Test func idxParserSurvivesMutations() {
        let seeds = [IDX.serialize(IDXArray(shape: [4, 5, 3], bytes: testBytes(60, seed: 1))),
                     IDX.serialize(IDXArray(shape: [9], bytes: testBytes(9, seed: 2)))]
        var fuzz = Mutator(seed: 2)
        for i in 0..<10000 {
            let seed = seeds[i % 2]
            let fields = [0] + (0..<Int(seed[3])).map { 4 + 4 * $0 }
            _ = try? IDX.parse(fuzz.mutate(seed, fields: fields))
        }
    }

    @Test func gunzipSurvivesMutations() {
        let payload = IDX.serialize(IDXArray(shape: [6, 7, 7], bytes: testBytes(6 * 49, seed: 3).map { $0 & 0x1F }))
        let seeds = [Zlib.deflate(payload, gzip: true), Zlib.deflate(payload), Zlib.deflate(Array(payload.prefix(40)), gzip: true)]
        var fuzz = Mutator(seed: 3)
        var accepted = 0
        for i in 0..<10000 {
            let seed = seeds[i % seeds.count]
            let fields = [0, 4, seed.count - 8, seed.count - 4].filter { $0 >= 0 }  // magic/flags, mtime, CRC, ISIZE
            if let out = try? Zlib.gunzip(fuzz.mutate(seed, fields: fields), limit: 1 << 20) {
                accepted += 1
                #expect(out.count <= 1 << 20)
            }
        }
        #expect(accepted > 0)
    }

    @Test func safeTensorsParserSurvivesMutations() throws {
        var file = SafeTensors(metadata: ["format": "pt"])
        file.set("conv.weight", Tensor(shape: [2, 1, 2, 2], scalars: (0..<8).map(Float.init)))
        file.set("fc.bias", Tensor(shape: [3], scalars: [1, 2, 3]))
        let seeds = [file.serialized(),
                     [UInt8](try Data(contentsOf: fixturesDirectory.appendingPathComponent("safetensors_dtypes.safetensors")))]
        var fuzz = Mutator(seed: 4)
        for i in 0..<10000 {
            let seed = seeds[i % 2]
            var bytes = fuzz.mutate(seed, fields: [0])
            if i % 3 == 0 { bytes = fuzz.editJSONNumber(seed) }
            if let parsed = try? SafeTensors(bytes: bytes) { _ = parsed.tensors() }
        }
    }
}

/// Seeded mutations of byte strings.
struct Mutator {
    var rng: SeededGenerator
    init(seed: UInt64) { rng = SeededGenerator(seed: seed) }

    mutating func below(_ n: Int) -> Int { Int(rng.next().multipliedFullWidth(by: UInt64(n)).high) }
    mutating func bytes(_ n: Int) -> [UInt8] { (0..<max(0, n)).map { _ in UInt8(truncatingIfNeeded: rng.next()) } }

    /// 1 to 4 random mutations of `input`; `fields` are offsets of 4-byte length/size fields.
    mutating func mutate(_ input: [UInt8], fields: [Int]) -> [UInt8] {
        var b = input
        for _ in 0...below(4) {
            switch below(7) {
            case 0 where !b.isEmpty: b[below(b.count)] ^= 1 << UInt8(below(8))
            case 1 where !b.isEmpty: b[below(b.count)] = [0, 0xFF, 0x7F, 0x80, UInt8(below(256))][below(5)]
            case 2: b = Array(b.prefix(below(b.count + 1)))
            case 3: b.insert(contentsOf: bytes(1 + below(16)), at: below(b.count + 1))
            case 4 where !b.isEmpty:
                let start = below(b.count)
                b.removeSubrange(start..<min(b.count, start + 1 + below(8)))
            case 5, 6:
                guard let at = fields.randomElement(using: &rng), at + 4 <= b.count else { continue }
                let old = Int(b[at]) << 24 | Int(b[at + 1]) << 16 | Int(b[at + 2]) << 8 | Int(b[at + 3])
                let v = [0, 1, old - 1, old + 1, old * 2, 0x7FFF_FFFF, 0xFFFF_FFFF, 0x8000_0000, below(1 << 16)][below(9)]
                for k in 0..<4 { b[at + k] = UInt8(truncatingIfNeeded: v >> (24 - 8 * k)) }
                if below(2) == 0 { b[at..<(at + 4)].reverse() }  // little-endian formats
            default: continue
            }
        }
        return b
    }

    /// `json` (a safetensors file) with one number of its header replaced by an extreme value.
    mutating func editJSONNumber(_ file: [UInt8]) -> [UInt8] {
        let headerEnd = min(file.count, 8 + Int(file[0]) + Int(file[1]) << 8)
        let digits = (8..<headerEnd).filter { (48...57).contains(file[$0]) }
        guard let at = digits.randomElement(using: &rng) else { return file }
        var end = at
        while end < headerEnd && (48...57).contains(file[end]) { end += 1 }
        let values = ["-1", "9223372036854775807", "18446744073709551615", "4611686018427387904", "1e300", "2.5",
                      "99999999999999999999999", "-9223372036854775808", "0"]
        var out = file
        out.replaceSubrange(at..<end, with: Array(values[below(values.count)].utf8))
        let newLength = Int(file[0]) + Int(file[1]) << 8 + out.count - file.count
        out[0] = UInt8(truncatingIfNeeded: newLength)
        out[1] = UInt8(truncatingIfNeeded: newLength >> 8)
        return out
    }
}

/// Offsets of the markers of a JPEG file up to its first scan (each marker's 2 bytes and its 2-byte length).
func jpegMarkerOffsets(_ jpeg: [UInt8]) -> [Int] {
    var out: [Int] = [], o = 2
    while o + 4 <= jpeg.count, jpeg[o] == 0xFF {
        out.append(o)
        if jpeg[o + 1] == 0xDA { break }  // start of scan: entropy-coded data follows
        o += 2 + (Int(jpeg[o + 2]) << 8 | Int(jpeg[o + 3]))
    }
    return out
}

/// Offsets of the chunk-length fields of a PNG file (and of IHDR's width and height).
func pngLengthFields(_ png: [UInt8]) -> [Int] {
    var out = [16, 20], o = 8
    while o + 12 <= png.count {
        out.append(o)
        o += 12 + readBE32(png, o)
    }
    return out
}

/// The file with every complete chunk's CRC recomputed, so corrupt contents reach the decoder.
func resign(_ png: [UInt8]) -> [UInt8] {
    var b = png, o = 8
    while o + 12 <= b.count {
        let n = readBE32(b, o)
        guard n <= b.count - o - 12 else { break }
        let crc = be32(Int(Zlib.crc32(b[(o + 4)..<(o + 8 + n)])))
        b.replaceSubrange((o + 8 + n)..<(o + 12 + n), with: crc)
        o += 12 + n
    }
    return b
}

/// Regressions the fuzzer found.
@Suite struct FuzzRegressionTests {
    @Test func safeTensorsShapeWhoseByteCountOverflowsIsAnError() {
        // shape 2^62 of F32: the element count fits an Int, the byte count does not (this trapped).
        let header = Array(#"{"w":{"dtype":"F32","shape":[4611686018427387904],"data_offsets":[0,4]}}"#.utf8)
        let file = (0..<8).map { UInt8(truncatingIfNeeded: header.count >> (8 * $0)) } + header + [0, 0, 0, 0]
        #expect(outcome { try SafeTensors(bytes: file, path: "w.safetensors") }.contains("needs too many bytes"))
    }
}
