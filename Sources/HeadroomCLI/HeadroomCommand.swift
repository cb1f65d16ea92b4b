import ArgumentParser
import Headroom
import Logging

@main
struct HeadroomCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "headroom",
        abstract: "Three-tier limit and risk checks for a NetsUnion front processor, over an LMDB store.",
        discussion: """
        A store is a directory. Card numbers are kept only as a keyed hash: the key comes \
        from $HEADROOM_CARD_KEY (64 hex digits) or a key file (--card-key-file, default \
        ~/.config/headroom/card.key, created with mode 0600 on first use).

        Changes (rules, customer limits, purges) record the operator: the account that \
        runs the command (under sudo, the account behind it). Card numbers can come from \
        a file or standard input (--card-file), out of the shell's history. Read \
        commands take --format table|json and never create or change a store. Shell \
        completions: headroom --generate-completion-script bash|zsh|fish.

        Exit status:
        \(ExitStatus.helpText)

        Examples:
          headroom replay --store /var/lib/headroom < payments.jsonl
          headroom rules propose Rules --store /var/lib/headroom
          headroom usage --card-file card.txt --store /var/lib/headroom
          headroom card-limit set --store /var/lib/headroom --card-file - \\
            --daily-amount 5000.00 < card.txt
        """,
        version: Headroom.version,
        subcommands: [Replay.self, RulesCommand.self, CardLimit.self, Usage.self, Explain.self, PaymentCommand.self, Report.self,
                      Reconcile.self, Expire.self, ListCommand.self, StoreCommand.self, Audit.self]
    )

    /// The executable sets up logging once (the library only takes a `Logger`): the engine's
    /// warnings and errors go to standard error, one line each, with their metadata.
    static func main() {
        LoggingSystem.bootstrap(StreamLogHandler.standardError)
        main(nil)
    }
}
