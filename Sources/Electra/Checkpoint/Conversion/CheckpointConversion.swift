import ElectraKernels
import Foundation

/// `electra convert`: any supported checkpoint (folder or file) -> an HF safetensors folder
/// (config.json, model.safetensors, tokenizer files copied). Names are kept as HF names;
/// tied copies and buffers are dropped as HF's safetensors saving does.
public enum CheckpointConversion {
    public struct Report: Sendable {
        public var format: String
        public var written: Int
        public var skipped: [String]
        public var warnings: [String]
    }

    static let tokenizerFiles = ModelFolderFiles.tokenizerNames

    /// The floating-point type the converted weights are stored in.
    public enum StoredFloat: String, Sendable, CaseIterable {
        case f32, f16, bf16
        func payload(_ t: Tensor) -> TensorPayload {
            switch self {
            case .f32: .float(t)
            case .f16: .half(t)
            case .bf16: .bfloat16(t)
            }
        }
    }

    public static func convert(input: URL, config configURL: URL? = nil, to output: URL, storing dtype: StoredFloat = .f32) throws -> Report {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: input.path, isDirectory: &isDir) else {
            throw ElectraError("no such file or folder: \(input.path)")
        }
        let inputDir = folder(of: input)
        try refuseSameFolder(inputDir, output)
        let cfgURL = configURL ?? inputDir.appendingPathComponent("config.json")
        guard FileManager.default.fileExists(atPath: cfgURL.path) else {
            if let configURL { throw ElectraError("config file \(configURL.path) does not exist") }
            throw ElectraError("no config.json next to \(input.path); pass --config FILE")
        }
        let config = try ElectraConfig.load(from: cfgURL)
        if CheckpointFormats.isTF1(input) {
            // The tower comes from the config given here, not from whatever sits next to the file.
            let tower = ElectraTower(architecture: config.architectures?.first)
            let r = try convertTF1(checkpoint: input, config: config, tower: tower, to: output)
            return Report(format: "tf1", written: r.converted, skipped: [r.summary], warnings: config.warnings)
        }
        let weights = try CheckpointWeights.open(input)
        // Loading into the class the config names proves shapes agree before anything is written.
        let task = try ElectraTask.fromConfig(config)
        let (model, load) = try task.load(config: config, weights: weights)
        // What the model loaded is written from there (already widened and transposed), so
        // each tensor is read once; tied names are read from the file as stored.
        var loaded: [String: Tensor] = [:]
        for (n, p) in model.parameters.entries where !model.parameters.tiedNames.contains(n) {
            loaded[CheckpointWeights.lookupKey(n)] = p.value
        }
        func tensor(_ name: String) throws -> Tensor? { try loaded[CheckpointWeights.lookupKey(name)] ?? weights.tensor(name) }

        var tensors: [(String, TensorPayload)] = []
        var skipped: [String] = []
        let wordEmbeddings = try tensor("embeddings.word_embeddings.weight")
        for name in weights.storedNames {
            guard let info = weights.info(name) else { continue }
            if CheckpointWeights.isIgnored(name) || !info.dtype.isFloatingPoint {
                skipped.append("\(name) (\(info.dtype.rawValue) buffer)")
                continue
            }
            let t = try tensor(name)!
            if name.hasSuffix("generator_lm_head.weight"), config.tieWordEmbeddings, let w = wordEmbeddings,
               w.shape == t.shape, w.scalars == t.scalars {
                skipped.append("\(name) (tied to the word embeddings)")
                continue
            }
            tensors.append((name, dtype.payload(t)))
        }
        try FileManager.default.createDirectory(at: output, withIntermediateDirectories: true)
        try SafeTensorsWriter.write(tensors, metadata: ["format": "pt"], to: output.appendingPathComponent("model.safetensors"))
        try copyFile(cfgURL, to: output.appendingPathComponent("config.json"))
        try copyTokenizerFiles(from: inputDir, to: output)
        return Report(format: weights.formatSummary, written: tensors.count, skipped: skipped, warnings: load.warnings + config.warnings)
    }

    /// One tower of a Google Research TF1 checkpoint (prefix, .index file or folder) -> an HF
    /// folder, with the tokenizer files next to the checkpoint copied (Google's releases ship
    /// vocab.txt there), as the other formats get.
    public static func convertTF1(
        checkpoint: URL, config: ElectraConfig, tower: ElectraTower, to output: URL
    ) throws -> TF1Export.Report {
        try refuseSameFolder(folder(of: checkpoint), output)
        let bundle = try TensorBundle(prefix: checkpoint)
        let r = try TF1Export.export(bundle, config: config, tower: tower, to: output)
        try copyTokenizerFiles(from: folder(of: checkpoint), to: output)
        return r
    }

    /// Writing into the input's own folder would replace the files read (its model.safetensors,
    /// config and tokenizer): refused, by any spelling or link.
    static func refuseSameFolder(_ inputDir: URL, _ output: URL) throws {
        if inputDir.resolvedPathComponents == output.resolvedPathComponents {
            throw ElectraError("the output folder \(output.path) is the input's folder; convert into another folder")
        }
    }

    /// The folder itself, or the folder holding a file or checkpoint prefix.
    static func folder(of url: URL) -> URL {
        var isDir: ObjCBool = false
        return FileManager.default.fileExists(atPath: url.path, isDirectory: &isDir) && isDir.boolValue
            ? url : url.deletingLastPathComponent()
    }

    static func copyTokenizerFiles(from dir: URL, to output: URL) throws {
        for f in tokenizerFiles {
            let src = dir.appendingPathComponent(f)
            if FileManager.default.fileExists(atPath: src.path) { try TokenizerFileCopy.copy(src, to: output.appendingPathComponent(f)) }
        }
    }

    /// Byte-exact copy (config.json keeps unknown fields and formatting), atomically.
    static func copyFile(_ src: URL, to dst: URL) throws {
        if src.standardizedFileURL == dst.standardizedFileURL { return }
        let data: Data
        do { data = try Data(contentsOf: src) } catch { throw ElectraError("cannot read \(src.path): \(error.localizedDescription)") }
        try AtomicFile.write(data, to: dst)
    }
}
