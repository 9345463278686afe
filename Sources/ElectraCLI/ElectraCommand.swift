import ArgumentParser
import ElectraHDF5

@main
struct ElectraCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "electra",
        abstract: "ELECTRA models in Swift: inference, fine-tuning, tokenization, checkpoint conversion, benchmarks.",
        subcommands: [Info.self, Infer.self, Bench.self, InitModel.self, FineTune.self, Evaluate.self, Predict.self, Tokenize.self, Detokenize.self, Convert.self])

    // Every command reads tf_model.h5 too: the HDF5 reader lives in its own module.
    static func main() {
        ElectraHDF5.register()
        main(nil)
    }
}
