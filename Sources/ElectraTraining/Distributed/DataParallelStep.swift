import Electra

/// One optimizer step of a hand-written training loop as one rank of a data-parallel job:
/// `begin()` before the forward and backward of this rank's batch, `end()` after it, then
/// clip and step as usual. `end()` leaves every rank with the mean of all ranks' gradients.
/// For one process (`SingleProcess`) both do nothing. (`Trainer` does the same with
/// accumulation and partial steps; this is the plain case.)
public struct DataParallelStep {
    public let group: any ProcessGroup
    let reducer: GradientReducer?
    let all: [Parameter]
    /// Whether buckets are summed during the backward (layer by layer) or only in `end()`.
    public let overlap: Bool

    /// `models`: the models whose backbones report finished layers; `all`: every trained
    /// parameter, each once.
    public init(group: any ProcessGroup, models: [any ElectraHeadModel], all: [Parameter], overlap: Bool = true) {
        self.group = group
        self.all = all
        self.overlap = overlap
        reducer = group.size > 1 ? GradientReducer.hooked(to: models, all: all, group: group) : nil
    }

    public func begin() {
        reducer?.beginStep()
        if !overlap { reducer?.armed = false }
    }

    public func end() {
        guard let reducer else { return }
        reducer.finish()
        Gradients.scale(all, by: 1 / Float(group.size))
    }

    /// Unhooks the backbones and ends the reducer's thread.
    public func stop() {
        reducer?.unhook()
        reducer?.stop()
    }
}
