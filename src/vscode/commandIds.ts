/** Sweep's commands (mirrors `contributes.commands` of package.json). */
export enum CommandId {
	Extract = 'sweep.extract',
	ExtractWithOrders = 'sweep.extractWithOrders',
	Append = 'sweep.append',
	ShowConfiguration = 'sweep.showConfiguration',
	Redetect = 'sweep.redetect',
	ShowSummary = 'sweep.showSummary',
	Preview = 'sweep.preview',
}
