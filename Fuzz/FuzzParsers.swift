// libFuzzer entry point for the file parsers (not part of the package build; see Fuzz/README.md).
// The first input byte picks the parser, the rest is the file: 0 PNG, 1 IDX, 2 gzip, 3 safetensors, 4 JPEG
// (decoded, then resized and cropped as `--resize`/`--crop` do).
// Every input must be parsed or rejected with a thrown error; a crash or a hang is a bug.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let body = Array(UnsafeBufferPointer(start: data + 1, count: size - 1))
    switch data[0] % 5 {
    case 0: _ = try? PNG.decode(body)
    case 1: _ = try? IDX.parse(body)
    case 2: _ = try? Zlib.gunzip(body, limit: 1 << 24)
    case 3: if let file = try? SafeTensors(bytes: body) { _ = file.tensors() }
    default:
        if let image = try? ImageFile.decode(body), image.width * image.height <= 1 << 22 {
            _ = image.converted(toChannels: 1).resizedBilinear(height: 7, width: 9).centerCropped(5)
        }
    }
    return 0
}
