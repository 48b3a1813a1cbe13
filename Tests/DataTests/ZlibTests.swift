import Testing
import Data

@Suite struct ZlibTests {
    let text = Array(String(repeating: "Fashion-MNIST is a drop-in replacement for MNIST. ", count: 200).utf8)

    @Test func gzipAndZlibRoundTrip() throws {
        #expect(try Zlib.gunzip(Zlib.deflate(text, gzip: true)) == text)
        #expect(try Zlib.inflate(Zlib.deflate(text), exactCount: text.count) == text)
        // 15 + 32 detects the container: gunzip also reads a raw zlib stream.
        #expect(try Zlib.gunzip(Zlib.deflate(text)) == text)
    }

    @Test func concatenatedGzipMembersAreJoinedLikeGzipDashD() throws {
        let a = Array(text.prefix(100)), b = Array(text.suffix(300))
        #expect(try Zlib.gunzip(Zlib.deflate(a, gzip: true) + Zlib.deflate(b, gzip: true)) == a + b)
    }

    @Test func outputGrowsFromASmallGuess() throws {
        // The first guess is the last member's ISIZE (100 bytes here); the buffer must grow to 300 kB.
        let big = [UInt8](repeating: 7, count: 300_000), small = Array(text.prefix(100))
        #expect(try Zlib.gunzip(Zlib.deflate(big, gzip: true) + Zlib.deflate(small, gzip: true)) == big + small)
        var gz = Zlib.deflate(text, gzip: true)
        gz.replaceSubrange((gz.count - 4)..., with: [1, 0, 0, 0])
        #expect(outcome { try Zlib.gunzip(gz) }.contains("is corrupt: incorrect length check"))
    }

    @Test func corruptTruncatedAndOversizedStreamsAreRejected() {
        let gz = Zlib.deflate(text, gzip: true)
        #expect(outcome { try Zlib.gunzip([], path: "a.gz") } == "a.gz: gzip data is empty")
        #expect(outcome { try Zlib.gunzip(Array(gz.prefix(gz.count / 2)), path: "a.gz") }.contains("a.gz: gzip data is truncated"))
        #expect(outcome { try Zlib.gunzip(Array(gz.dropLast(3)), path: "a.gz") }.contains("truncated"))
        var flipped = gz
        flipped[gz.count - 6] ^= 0x10  // inside the CRC-32 trailer
        #expect(outcome { try Zlib.gunzip(flipped, path: "a.gz") }.contains("a.gz: gzip data is corrupt: incorrect data check"))
        #expect(outcome { try Zlib.gunzip(Array("not gzip at all".utf8)) }.contains("is corrupt"))
        #expect(outcome { try Zlib.gunzip(gz + [1, 2, 3]) }.contains("3 unexpected bytes after the end"))
        #expect(outcome { try Zlib.gunzip(gz, limit: 1000) }.contains("inflates to more than 1000 bytes"))
        let z = Zlib.deflate(text)
        #expect(outcome { try Zlib.inflate(z, exactCount: text.count - 1) }.contains("more than"))
        #expect(outcome { try Zlib.inflate(z, exactCount: text.count + 1) }.contains("truncated"))
    }

    @Test func crc32MatchesTheStandardCheckValue() {
        #expect(Zlib.crc32(Array("123456789".utf8)[...]) == 0xCBF4_3926)
    }
}
