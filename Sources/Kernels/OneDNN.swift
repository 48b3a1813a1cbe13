import CDNNL
import Synchronization

/// Shared oneDNN state and helpers: the CPU engine, a pool of streams, status checks and memory
/// descriptors. oneDNN runs its own OpenMP threads (`OMP_NUM_THREADS`, default all cores).
enum OneDNN {
    /// The CPU engine, created on first use.
    nonisolated(unsafe) static let engine: dnnl_engine_t = {
        var engine: dnnl_engine_t?
        check(dnnl_engine_create(&engine, dnnl_cpu, 0), "dnnl_engine_create")
        return engine!
    }()

    /// Idle streams (as bit patterns); a stream is not thread-safe, so each execution takes its own.
    private static let idleStreams = Mutex<[Int]>([])

    /// Runs `body` with a stream no other thread is using.
    static func withStream(_ body: (dnnl_stream_t) -> Void) {
        let stream: dnnl_stream_t
        if let bits = idleStreams.withLock({ $0.popLast() }) {
            stream = OpaquePointer(bitPattern: bits)!
        } else {
            var s: dnnl_stream_t?
            check(dnnl_stream_create(&s, engine, dnnl_stream_default_flags.rawValue), "dnnl_stream_create")
            stream = s!
        }
        body(stream)
        idleStreams.withLock { $0.append(Int(bitPattern: stream)) }
    }

    /// Stops the program with a message naming the failed call, its status and `context` unless
    /// `status` is success: a failure here is a bug in the caller's shapes or in this code.
    static func check(_ status: dnnl_status_t, _ call: String, _ context: @autoclosure () -> String = "") {
        guard status != dnnl_success else { return }
        let name = switch status {
        case dnnl_out_of_memory: "out_of_memory"
        case dnnl_invalid_arguments: "invalid_arguments"
        case dnnl_unimplemented: "unimplemented"
        case dnnl_runtime_error: "runtime_error"
        default: "status \(status.rawValue)"
        }
        let detail = context()
        fatalError("oneDNN \(call) failed: \(name)\(detail.isEmpty ? "" : " (\(detail))")")
    }

    /// An f32 memory descriptor of `dims` in format `tag` (`dnnl_format_tag_any` to let a primitive choose).
    static func memoryDesc(_ dims: [Int], _ tag: dnnl_format_tag_t) -> dnnl_memory_desc_t {
        var md = dnnl_memory_desc_t()
        let dims64 = dims.map(Int64.init)
        check(dnnl_memory_desc_init_by_tag(&md, Int32(dims.count), dims64, dnnl_f32, tag),
              "dnnl_memory_desc_init_by_tag", "dims \(dims), tag \(tag.rawValue)")
        return md
    }

    /// The memory descriptor of an NCHW activation in plain `nchw` or blocked `nChw16c`/`nChw8c` order.
    static func activationDesc(_ n: Int, _ c: Int, _ h: Int, _ w: Int, blocked: Bool) -> dnnl_memory_desc_t {
        memoryDesc([n, c, h, w], blocked ? (Reorder.block == 16 ? dnnl_nChw16c : dnnl_nChw8c) : dnnl_nchw)
    }
}

/// A oneDNN primitive and its descriptor. Executions bring their own scratchpad (user scratchpad
/// mode), so one primitive may run on several threads at once.
final class Primitive: @unchecked Sendable {
    let desc: dnnl_primitive_desc_t
    let primitive: dnnl_primitive_t
    /// What the primitive is, for error messages.
    let what: String

    /// A `*_primitive_desc_create` call: `create(&desc, attributes)`.
    typealias Create = (UnsafeMutablePointer<dnnl_primitive_desc_t?>, dnnl_primitive_attr_t) -> dnnl_status_t

    /// Builds the primitive from `create`; stops with oneDNN's error if it fails.
    convenience init(_ what: String, _ create: Create) {
        self.init(what, desc: Primitive.descriptor(what, create, optional: false)!)
    }

    /// Builds the primitive from `create`, or nil when oneDNN has no implementation for it (other failures stop).
    convenience init?(optional what: String, _ create: Create) {
        guard let desc = Primitive.descriptor(what, create, optional: true) else { return nil }
        self.init(what, desc: desc)
    }

    private init(_ what: String, desc: dnnl_primitive_desc_t) {
        var p: dnnl_primitive_t?
        OneDNN.check(dnnl_primitive_create(&p, desc), "dnnl_primitive_create", what)
        (self.what, self.desc, primitive) = (what, desc, p!)
    }

    private static func descriptor(_ what: String, _ create: Create, optional: Bool) -> dnnl_primitive_desc_t? {
        var attr: dnnl_primitive_attr_t?
        OneDNN.check(dnnl_primitive_attr_create(&attr), "dnnl_primitive_attr_create")
        defer { dnnl_primitive_attr_destroy(attr) }
        OneDNN.check(dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user),
                     "dnnl_primitive_attr_set_scratchpad_mode")
        var pd: dnnl_primitive_desc_t?
        let status = create(&pd, attr!)
        if optional && status == dnnl_unimplemented { return nil }
        OneDNN.check(status, "dnnl_primitive_desc_create", what)
        return pd
    }

    /// A reorder between two memory descriptors of the same logical tensor.
    convenience init(reorderFrom src: dnnl_memory_desc_t, to dst: dnnl_memory_desc_t, _ what: String) {
        var src = src, dst = dst
        self.init("reorder of \(what)") { pd, attr in
            dnnl_reorder_primitive_desc_create(pd, &src, OneDNN.engine, &dst, OneDNN.engine, attr)
        }
    }

    deinit {
        dnnl_primitive_destroy(primitive)
        dnnl_primitive_desc_destroy(desc)
    }

    /// The memory descriptor the primitive expects for execution argument `arg` (a `DNNL_ARG_*`).
    func memoryDesc(_ arg: Int32) -> dnnl_memory_desc_t {
        dnnl_primitive_desc_query_md(desc, dnnl_query_exec_arg_md, arg).pointee
    }

    /// The number of floats a buffer for argument `arg` needs (may exceed the logical count: padding).
    func floats(_ arg: Int32) -> Int {
        var md = memoryDesc(arg)
        return (dnnl_memory_desc_get_size(&md) + 3) / 4
    }

    /// The name of the implementation oneDNN picked, e.g. `jit:avx512_common`, `gemm:jit` or `ref:any`.
    var implementation: String {
        var name: UnsafePointer<CChar>?
        OneDNN.check(dnnl_primitive_desc_query(desc, dnnl_query_impl_info_str, 0, &name), "dnnl_primitive_desc_query")
        return name.map { String(cString: $0) } ?? "?"
    }

    /// Runs the primitive on `args` (`DNNL_ARG_*`, buffer) and waits for it to finish.
    func execute(_ args: [(Int32, FloatBuffer)]) {
        let scratch = floats(DNNL_ARG_SCRATCHPAD)
        let all = scratch > 0 ? args + [(DNNL_ARG_SCRATCHPAD, FloatBuffer(capacity: scratch))] : args
        var execArgs: [dnnl_exec_arg_t] = []
        for (arg, buffer) in all {
            var md = memoryDesc(arg)
            precondition(buffer.capacity * 4 >= dnnl_memory_desc_get_size(&md),
                         "\(what): buffer for argument \(arg) holds \(buffer.capacity) floats, needs \(dnnl_memory_desc_get_size(&md) / 4)")
            var memory: dnnl_memory_t?
            OneDNN.check(dnnl_memory_create(&memory, &md, OneDNN.engine, buffer.pointer), "dnnl_memory_create", what)
            execArgs.append(dnnl_exec_arg_t(arg: arg, memory: memory))
        }
        defer { for a in execArgs { dnnl_memory_destroy(a.memory) } }
        withExtendedLifetime(all) {
            OneDNN.withStream { stream in
                OneDNN.check(dnnl_primitive_execute(primitive, stream, Int32(execArgs.count), execArgs),
                             "dnnl_primitive_execute", what)
                OneDNN.check(dnnl_stream_wait(stream), "dnnl_stream_wait", what)
            }
        }
    }
}

/// A thread-safe map from shape keys to built primitives: building one costs 0.1-0.5 ms (the very
/// first about 280 ms), running it on small tensors often less.
final class PrimitiveCache<Key: Hashable & Sendable, Value: AnyObject & Sendable>: Sendable {
    private let entries = Mutex<[Key: Value]>([:])

    /// The cached value for `key`, built with `make` on first use.
    func value(for key: Key, _ make: () -> Value) -> Value {
        if let v = entries.withLock({ $0[key] }) { return v }
        let made = make()  // outside the lock: building is slow; a racing duplicate is dropped
        return entries.withLock { e in
            if let v = e[key] { return v }
            e[key] = made
            return made
        }
    }
}
