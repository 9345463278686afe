import Electra
import Foundation

/// Which files of a repo a model folder needs: config.json, the tokenizer files, and one
/// weights format (safetensors, sharded safetensors, PyTorch .bin (sharded too), then Flax,
/// TF2 .h5 and TF1 checkpoints), as transformers' from_pretrained prefers them.
public enum FileSelection {
    static let tokenizerFiles = ModelFolderFiles.tokenizerNames

    /// The files to fetch first; `shardIndex`, when set, is an index file whose shards follow.
    static func plan(_ siblings: [String], repo: String) throws -> (files: [String], shardIndex: String?) {
        let have = Set(siblings)
        guard have.contains("config.json") else {
            throw ElectraError("\(repo) has no config.json at the top of the repo: it is not a transformers model folder")
        }
        var files = ["config.json"] + tokenizerFiles.filter(have.contains)
        for single in ["model.safetensors"] where have.contains(single) { return (files + [single], nil) }
        if have.contains("model.safetensors.index.json") { return (files + ["model.safetensors.index.json"], "model.safetensors.index.json") }
        if have.contains("pytorch_model.bin") { return (files + ["pytorch_model.bin"], nil) }
        if have.contains("pytorch_model.bin.index.json") { return (files + ["pytorch_model.bin.index.json"], "pytorch_model.bin.index.json") }
        for single in ["flax_model.msgpack", "tf_model.h5"] where have.contains(single) { return (files + [single], nil) }
        let tf1 = siblings.filter { $0 == "checkpoint" || ($0.hasPrefix("model.ckpt") && !$0.contains("/")) }
        if !tf1.isEmpty {
            files += tf1.sorted()
            return (files, nil)
        }
        throw ElectraError("\(repo) holds no weights this package reads (model.safetensors, pytorch_model.bin, flax_model.msgpack, tf_model.h5 or a TF1 model.ckpt)")
    }

    /// The shard files an index names (its weight_map's values), in order of first use.
    static func shards(index: URL) throws -> [String] {
        let json = try JSONValue.parse(try Data(contentsOf: index), source: index.lastPathComponent)
        guard let map = json.objectValue?["weight_map"]?.objectValue else {
            throw ElectraError("\(index.lastPathComponent) has no weight_map")
        }
        var seen = Set<String>(), out: [String] = []
        for name in map.keys.sorted() {
            guard let f = map[name]?.stringValue else { continue }
            guard !f.contains("..") && !f.hasPrefix("/") else { throw ElectraError("\(index.lastPathComponent) names a shard outside the repo: \(f)") }
            if seen.insert(f).inserted { out.append(f) }
        }
        return out.sorted()
    }
}
