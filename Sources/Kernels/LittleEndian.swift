/// Values to and from the raw bytes of the file formats (safetensors), which store them little-endian as the
/// machines the engine runs on (x86-64, arm64) do: a copy of memory either way.
public enum LittleEndian {
    /// The bytes of `values`, in order.
    public static func bytes<T: BitwiseCopyable>(of values: [T]) -> [UInt8] {
        values.withUnsafeBytes { Array($0) }
    }

    /// The first `count` values of type `T` stored in `bytes` (at any alignment), each converted by `convert`.
    @inlinable
    public static func values<T: BitwiseCopyable, R>(_ bytes: [UInt8], count: Int, as _: T.Type,
                                                     _ convert: (T) -> R) -> [R] {
        precondition(count >= 0 && count * MemoryLayout<T>.stride <= bytes.count,
                     "\(count) values of \(MemoryLayout<T>.stride) bytes need more than the \(bytes.count) bytes given")
        return bytes.withUnsafeBytes { raw in
            (0..<count).map { convert(raw.loadUnaligned(fromByteOffset: $0 &* MemoryLayout<T>.stride, as: T.self)) }
        }
    }
}
