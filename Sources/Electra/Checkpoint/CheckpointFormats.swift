import Foundation
import Synchronization

/// Finds and opens checkpoints of every supported format. A folder is searched in HF's order
/// of preference; a file is recognised by its name. Formats that live in other modules
/// (TF2 HDF5, which needs the HDF5 C library) register themselves here.
public enum CheckpointFormats {
    /// One checkpoint format: the file names it owns inside a model folder, how to recognise
    /// one of its files, and how to open a file as tensor sources.
    public struct Format: Sendable {
        public let name: String
        /// Files looked for inside a folder, in order.
        public let folderFiles: [String]
        public let matches: @Sendable (URL) -> Bool
        public let open: @Sendable (URL) throws -> [any TensorSource]
        public init(
            name: String, folderFiles: [String], matches: @escaping @Sendable (URL) -> Bool,
            open: @escaping @Sendable (URL) throws -> [any TensorSource]
        ) {
            self.name = name
            self.folderFiles = folderFiles
            self.matches = matches
            self.open = open
        }
    }

    private static let registered = Mutex<[Format]>([])

    /// Adds a format from another module (e.g. `ElectraHDF5.register()`).
    public static func register(_ format: Format) {
        registered.withLock { list in
            if !list.contains(where: { $0.name == format.name }) { list.append(format) }
        }
    }

    static let safetensors = Format(
        name: "safetensors", folderFiles: ["model.safetensors"],
        matches: { $0.pathExtension == "safetensors" }, open: { [try SafeTensorsFile(url: $0)] })

    /// Built-in formats, then registered ones, in HF's order of preference.
    public static var all: [Format] {
        [safetensors, pytorch, flax, tf1] + registered.withLock { $0 }
    }

    static let pytorch = Format(
        name: "pytorch", folderFiles: ["pytorch_model.bin"], matches: { $0.pathExtension == "bin" },
        open: { [try PyTorchCheckpointFile(url: $0)] })

    /// A Google Research TF1 checkpoint (folder with a `checkpoint` file, a `.index` file or a
    /// `model.ckpt-N` prefix). It holds both towers; the one exported is the generator when
    /// config.json next to it names ElectraForMaskedLM, else the discriminator.
    static let tf1 = Format(
        name: "tf1", folderFiles: ["checkpoint"],
        matches: { $0.lastPathComponent == "checkpoint" || $0.pathExtension == "index" || $0.lastPathComponent.contains(".ckpt") },
        open: { url in
            let prefix = url.lastPathComponent == "checkpoint" ? url.deletingLastPathComponent() : url
            let bundle = try TensorBundle(prefix: prefix)
            let config = bundle.url.deletingLastPathComponent().appendingPathComponent("config.json")
            let arch = FileManager.default.fileExists(atPath: config.path) ? try ElectraConfig.load(from: config).architectures?.first : nil
            return [TF1Export.view(bundle, tower: ElectraTower(architecture: arch)).view]
        })

    static let flax = Format(
        name: "flax", folderFiles: ["flax_model.msgpack"], matches: { $0.pathExtension == "msgpack" },
        open: { [FrameworkNames.renamed(try FlaxCheckpointFile(url: $0), FrameworkNames.fromFlax)] })

    /// Files that mean "this format, but its reader is not linked in".
    static let knownButUnregistered: [(file: String, hint: String)] = [
        ("tf_model.h5", "TF2 .h5 checkpoints need the ElectraHDF5 module: link it and call ElectraHDF5.register() (the electra CLI does)"),
    ]

    /// Whether `url` (file or folder) holds a TF1 checkpoint rather than an HF format.
    public static func isTF1(_ url: URL) -> Bool {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDir) else {
            return tf1.matches(url)  // a model.ckpt-N prefix is not a file of its own
        }
        if !isDir.boolValue { return tf1.matches(url) }
        let hf = all.filter { $0.name != tf1.name }.flatMap(\.folderFiles)
        if hf.contains(where: { FileManager.default.fileExists(atPath: url.appendingPathComponent($0).path) }) { return false }
        return FileManager.default.fileExists(atPath: url.appendingPathComponent("checkpoint").path)
    }

    public static func open(_ url: URL) throws -> CheckpointWeights {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDir) else {
            throw ElectraError("no such file or folder: \(url.path)")
        }
        let formats = all
        if !isDir.boolValue { return try openFile(url, formats: formats) }
        for f in formats {
            for name in f.folderFiles {
                let file = url.appendingPathComponent(name)
                if FileManager.default.fileExists(atPath: file.path) { return try openFile(file, formats: formats) }
                let sharded = url.appendingPathComponent(name + ".index.json")
                if FileManager.default.fileExists(atPath: sharded.path) { return try openSharded(index: sharded, formats: formats) }
            }
        }
        for (file, hint) in knownButUnregistered
        where FileManager.default.fileExists(atPath: url.appendingPathComponent(file).path) {
            throw ElectraError("\(url.appendingPathComponent(file).path): \(hint)")
        }
        let present = (try? FileManager.default.contentsOfDirectory(atPath: url.path))?.sorted().joined(separator: ", ") ?? ""
        let expected = formats.flatMap(\.folderFiles).map { $0 == "checkpoint" ? "a TF1 checkpoint" : $0 }.joined(separator: ", ")
        throw ElectraError("no weights in \(url.path): expected one of \(expected) (or a sharded .index.json) (found: \(present.isEmpty ? "nothing" : present))")
    }

    static func format(of url: URL, formats: [Format]) throws -> Format {
        if let f = formats.first(where: { $0.matches(url) }) { return f }
        for (file, hint) in knownButUnregistered where url.lastPathComponent == file { throw ElectraError("\(url.path): \(hint)") }
        throw ElectraError("\(url.path): unrecognised checkpoint file (supported: \(formats.map(\.name).joined(separator: ", ")))")
    }

    static func openFile(_ url: URL, formats: [Format]) throws -> CheckpointWeights {
        if url.lastPathComponent.hasSuffix(".index.json") { return try openSharded(index: url, formats: formats) }
        let f = try format(of: url, formats: formats)
        return try CheckpointWeights(sources: try f.open(url), description: url.path)
    }

    /// HF's sharded layout: `{"weight_map": {tensor: shard file}}` next to the shards.
    static func openSharded(index url: URL, formats: [Format]) throws -> CheckpointWeights {
        let data: Data
        do { data = try Data(contentsOf: url) } catch { throw ElectraError("cannot read \(url.path): \(error.localizedDescription)") }
        guard let map = try JSONValue.parse(data, source: url.lastPathComponent).objectValue?["weight_map"]?.objectValue else {
            throw ElectraError("\(url.lastPathComponent): missing the 'weight_map' object")
        }
        let dir = url.deletingLastPathComponent()
        var shards: [String: [any TensorSource]] = [:]
        for (tensor, v) in map.sorted(by: { $0.key < $1.key }) {
            // Shards sit next to the index: a name with a folder in it would read elsewhere.
            guard let fname = v.stringValue, !fname.isEmpty, !fname.contains("/"), fname != ".", fname != ".." else {
                throw ElectraError("\(url.lastPathComponent): weight_map entry '\(tensor)' is not a file name in the index's folder")
            }
            if shards[fname] == nil {
                let shard = dir.appendingPathComponent(fname)
                guard FileManager.default.fileExists(atPath: shard.path) else {
                    throw ElectraError("\(url.lastPathComponent) names shard \(fname) (for '\(tensor)'), which does not exist")
                }
                shards[fname] = try format(of: shard, formats: formats).open(shard)
            }
            guard shards[fname]!.contains(where: { $0.info(tensor) != nil }) else {
                throw ElectraError("\(url.lastPathComponent) places '\(tensor)' in \(fname), which does not contain it")
            }
        }
        return try CheckpointWeights(sources: shards.keys.sorted().flatMap { shards[$0]! }, description: url.path)
    }
}
