import Electra
import Foundation

/// HF's TF2 checkpoints (`tf_model.h5`, written by Keras `save_weights`): one HDF5 group per
/// top-level layer holding datasets named by the Keras weight name. The layer group prefix is
/// dropped and the weight name mapped to HF's PyTorch name (see `FrameworkNames.fromKeras`).
public enum ElectraHDF5 {
    public static let format = CheckpointFormats.Format(
        name: "tf2-h5", folderFiles: ["tf_model.h5"], matches: { $0.pathExtension == "h5" },
        open: { [try openKeras($0)] })

    /// Makes `--model` and `CheckpointWeights.open` read `tf_model.h5`.
    public static func register() { CheckpointFormats.register(format) }

    public static func openKeras(_ url: URL) throws -> RenamedTensorSource {
        let file = try HDF5File(url: url)
        let view = FrameworkNames.renamed(file) { path in
            // "<layer group>/<keras weight name>": the weight name alone carries the scope.
            guard let slash = path.firstIndex(of: "/") else { return nil }
            return FrameworkNames.fromKeras(String(path[path.index(after: slash)...]))
        }
        if view.entries.isEmpty {
            throw ElectraError("\(url.lastPathComponent): no Keras weights found (expected datasets like 'electra/tf_electra_model/electra/embeddings/word_embeddings/weight:0')")
        }
        return view
    }
}
