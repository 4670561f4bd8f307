/**
 * Mocha's spec reporter plus one closing line in the plain `unit: N passed, N failed` shape, so that whoever reads
 * the log (people, CI) sees the totals in the same words as the e2e harness prints.
 */
import Mocha from 'mocha';

class SummaryReporter extends Mocha.reporters.Spec {
	constructor(runner: Mocha.Runner, options?: Mocha.MochaOptions) {
		super(runner, options);
		runner.once(Mocha.Runner.constants.EVENT_RUN_END, () => {
			const s = runner.stats ?? { passes: 0, failures: 0, pending: 0 };
			const skipped = s.pending > 0 ? `, ${s.pending} skipped` : '';
			// After the spec reporter's own epilogue (printed on the same event).
			setImmediate(() => console.log(`unit: ${s.passes} passed, ${s.failures} failed${skipped}`));
		});
	}
}

export = SummaryReporter;
