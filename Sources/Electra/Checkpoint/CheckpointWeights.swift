import ElectraKernels
import Foundation

/// The tensors of a checkpoint folder or file, addressed by HF name. Keys are matched with
/// or without the `electra.` prefix, so a base-model checkpoint loads into a head class and
/// the other way round, as in HF.
public final class CheckpointWeights: @unchecked Sendable {
    /// Lookup key (name without `electra.`) -> (file, name as stored).
    private var index: [String: (file: SafeTensorsFile, stored: String)] = [:]
    public let description: String
    /// Names stored in the files that carry no weight (HF buffers), skipped silently.
    static let ignoredSuffixes = ["embeddings.position_ids"]

    public static func lookupKey(_ name: String) -> String {
        name.hasPrefix("electra.") ? String(name.dropFirst("electra.".count)) : name
    }

    public init(files: [SafeTensorsFile], description: String) throws {
        self.description = description
        for f in files {
            for n in f.names {
                let key = Self.lookupKey(n)
                if let prev = index[key] {
                    throw ElectraError("tensor '\(n)' appears twice (in \(prev.file.url.lastPathComponent) and \(f.url.lastPathComponent))")
                }
                index[key] = (f, n)
            }
        }
    }

    /// Opens model.safetensors, a sharded model.safetensors.index.json, or a single file.
    public static func open(_ url: URL) throws -> CheckpointWeights {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDir) else {
            throw ElectraError("no such file or folder: \(url.path)")
        }
        if !isDir.boolValue {
            if url.lastPathComponent.hasSuffix(".index.json") { return try openSharded(index: url) }
            return try CheckpointWeights(files: [SafeTensorsFile(url: url)], description: url.path)
        }
        let single = url.appendingPathComponent("model.safetensors")
        if FileManager.default.fileExists(atPath: single.path) {
            return try CheckpointWeights(files: [SafeTensorsFile(url: single)], description: single.path)
        }
        let sharded = url.appendingPathComponent("model.safetensors.index.json")
        if FileManager.default.fileExists(atPath: sharded.path) { return try openSharded(index: sharded) }
        let present = (try? FileManager.default.contentsOfDirectory(atPath: url.path))?.sorted().joined(separator: ", ") ?? ""
        throw ElectraError("no weights in \(url.path): expected model.safetensors or model.safetensors.index.json (found: \(present.isEmpty ? "nothing" : present))")
    }

    static func openSharded(index url: URL) throws -> CheckpointWeights {
        let data: Data
        do { data = try Data(contentsOf: url) } catch { throw ElectraError("cannot read \(url.path): \(error.localizedDescription)") }
        guard let map = try JSONValue.parse(data, source: url.lastPathComponent).objectValue?["weight_map"]?.objectValue else {
            throw ElectraError("\(url.lastPathComponent): missing the 'weight_map' object")
        }
        let dir = url.deletingLastPathComponent()
        var files: [String: SafeTensorsFile] = [:]
        for (tensor, v) in map {
            guard let fname = v.stringValue else { throw ElectraError("\(url.lastPathComponent): weight_map entry '\(tensor)' is not a file name") }
            if files[fname] == nil {
                let shard = dir.appendingPathComponent(fname)
                guard FileManager.default.fileExists(atPath: shard.path) else {
                    throw ElectraError("\(url.lastPathComponent) names shard \(fname) (for '\(tensor)'), which does not exist")
                }
                files[fname] = try SafeTensorsFile(url: shard)
            }
            guard files[fname]!.records[tensor] != nil else {
                throw ElectraError("\(url.lastPathComponent) places '\(tensor)' in \(fname), which does not contain it")
            }
        }
        return try CheckpointWeights(files: files.keys.sorted().map { files[$0]! }, description: url.path)
    }

    public var storedNames: [String] { index.values.map(\.stored).sorted() }

    /// "F32 (201 tensors)" or "F16 (150), F32 (2)".
    public var dtypeSummary: String {
        var counts: [String: Int] = [:]
        for (file, stored) in index.values { counts[file.records[stored]!.dtype.rawValue, default: 0] += 1 }
        return counts.sorted { $0.key < $1.key }.map { "\($0.key) (\($0.value) tensors)" }.joined(separator: ", ")
    }

    public func contains(_ name: String) -> Bool { index[Self.lookupKey(name)] != nil }

    public func storedName(_ name: String) -> String? { index[Self.lookupKey(name)]?.stored }

    /// The fp32 tensor for an HF name, shape-checked.
    public func tensor(_ name: String, expectedShape: [Int]) throws -> Tensor? {
        guard let (file, stored) = index[Self.lookupKey(name)] else { return nil }
        let rec = file.records[stored]!
        if rec.shape != expectedShape {
            throw ElectraError("\(file.url.lastPathComponent): tensor '\(stored)' has shape \(shapeString(rec.shape)) but the model (from config.json) expects \(shapeString(expectedShape))")
        }
        return try file.floatTensor(stored)
    }

    static func isIgnored(_ stored: String) -> Bool {
        ignoredSuffixes.contains { stored.hasSuffix($0) }
    }
}

/// Builds parameters by HF path, loading each from the checkpoint when present and
/// initialising it as HF does when not (candle's VarBuilder idea): `vb.pp("encoder").pp("layer").pp(3)`.
public struct ParameterBuilder {
    public let table: ParameterTable
    let weights: CheckpointWeights?
    let path: [String]
    let state: LoadState

    /// What happened during a load: names initialised because absent, and file names used.
    final class LoadState {
        var missing: [String] = []
        var used: Set<String> = []
        var rng: Xoshiro256
        let initializerRange: Float
        let randomInit: Bool
        init(seed: UInt64, initializerRange: Float, randomInit: Bool) {
            rng = Xoshiro256(seed: seed)
            self.initializerRange = initializerRange
            self.randomInit = randomInit
        }
    }

    /// `randomInit: false` leaves absent weights at zero (LayerNorm at one): for shape-only
    /// uses such as counting parameters, where drawing 100M normals would be wasted work.
    public init(weights: CheckpointWeights?, initializerRange: Float, seed: UInt64 = 0, randomInit: Bool = true) {
        table = ParameterTable()
        self.weights = weights
        path = []
        state = LoadState(seed: seed, initializerRange: initializerRange, randomInit: randomInit)
    }

    private init(_ parent: ParameterBuilder, path: [String]) {
        table = parent.table
        weights = parent.weights
        self.path = path
        state = parent.state
    }

    /// A builder one level down the HF module tree.
    public func pp(_ component: String) -> ParameterBuilder { ParameterBuilder(self, path: path + [component]) }
    public func pp(_ index: Int) -> ParameterBuilder { pp(String(index)) }

    public func fullName(_ leaf: String) -> String { (path + [leaf]).joined(separator: ".") }

    /// Loads or initialises `leaf` under this path.
    public func parameter(_ leaf: String, shape: [Int], role: ParameterRole, paddingIndex: Int? = nil) throws -> Parameter {
        let name = fullName(leaf)
        if let w = weights, let t = try w.tensor(name, expectedShape: shape) {
            state.used.insert(w.storedName(name)!)
            let p = Parameter(t, role: role)
            table.register(name, p)
            return p
        }
        if weights != nil { state.missing.append(name) }
        let t = Tensor(zeros: shape)
        switch role {
        case .linearWeight, .embedding:
            guard state.randomInit else { break }
            t.fillNormal(std: state.initializerRange, rng: &state.rng)
            if let pad = paddingIndex, shape.count == 2, pad < shape[0] {
                (t.pointer + pad * shape[1]).update(repeating: 0, count: shape[1])
            }
        case .layerNormWeight: t.fill(1)
        case .bias, .layerNormBias: break
        }
        let p = Parameter(t, role: role)
        table.register(name, p)
        return p
    }

    /// Registers `leaf` as another name of `target` (a tied weight). A stored copy in the
    /// checkpoint is consumed (not reported as unexpected) and ignored, as HF's tying does.
    public func tie(_ leaf: String, to target: Parameter) {
        let name = fullName(leaf)
        if let w = weights, let stored = w.storedName(name) { state.used.insert(stored) }
        table.register(name, target, tied: true)
    }

    public func linear(_ module: String, in inFeatures: Int, out outFeatures: Int, bias: Bool = true) throws -> Linear {
        let vb = pp(module)
        let w = try vb.parameter("weight", shape: [outFeatures, inFeatures], role: .linearWeight)
        let b = bias ? try vb.parameter("bias", shape: [outFeatures], role: .bias) : nil
        return Linear(weight: w, bias: b, inFeatures: inFeatures, outFeatures: outFeatures)
    }

    public func layerNorm(_ module: String, size: Int, eps: Float) throws -> LayerNormWeights {
        let vb = pp(module)
        return LayerNormWeights(
            gamma: try vb.parameter("weight", shape: [size], role: .layerNormWeight),
            beta: try vb.parameter("bias", shape: [size], role: .layerNormBias), eps: eps)
    }

    /// The load report: missing names (initialised) and unexpected names (unused).
    public func report() -> LoadReport {
        let unexpected = (weights?.storedNames ?? []).filter {
            !state.used.contains($0) && !CheckpointWeights.isIgnored($0)
        }
        return LoadReport(missing: state.missing, unexpected: unexpected, source: weights?.description)
    }
}

/// What HF prints after `from_pretrained`: weights that were initialised, weights not used.
public struct LoadReport: Sendable {
    public var missing: [String]
    public var unexpected: [String]
    public var source: String?

    public var warnings: [String] {
        var w: [String] = []
        if !missing.isEmpty {
            w.append("Some weights were not in \(source ?? "the checkpoint") and are newly initialized (train before use): \(missing.joined(separator: ", "))")
        }
        if !unexpected.isEmpty {
            w.append("Some weights of \(source ?? "the checkpoint") were not used: \(unexpected.joined(separator: ", "))")
        }
        return w
    }
}
