// Types of model.js (a browser module served as it is), for the unit tests.
import type { FlowEndpoint, FlowRecord } from '../flows/record.js';
import type { GraphEdge, GraphNode, ServiceGraph } from '../flows/graph.js';

export type Selection = { kind: 'node'; identity: number } | { kind: 'edge'; source: number; destination: number } | null;
export type EdgeVerdict = 'forwarded' | 'dropped' | 'both';

export function isWorkloadEnd(e: FlowEndpoint): boolean;
export function isWorkloadNode(n: GraphNode): boolean;
export function isNoiseRecord(r: FlowRecord): boolean;
export function isNoiseEdge(edge: GraphEdge, nodesById: Map<number, GraphNode>): boolean;
export function visibleGraph(graph: ServiceGraph, showNoise: boolean): { nodes: GraphNode[]; edges: GraphEdge[]; hiddenEdges: number };
export function edgeVerdict(e: GraphEdge): EdgeVerdict;
export const EDGE_DASH: Record<EdgeVerdict, string | null>;
export function edgeWidth(rate: number, maxRate: number): number;
export function formatRate(x: number): string;
export function formatPercent(ratio: number): string;
export function formatSeconds(s: number): string;
export function edgeLabelLines(e: GraphEdge, windowSeconds: number): string[];
export const OUTSIDE_GROUP: string;
export function groupOf(n: GraphNode): string;
export function cardInfo(n: GraphNode, edges: GraphEdge[], nodesById: Map<number, GraphNode>): { title: string; subtitle: string; reached: string; fromOutside: boolean };
export function selectionMatches(r: FlowRecord, selection: Selection): boolean;
export function endName(e: FlowEndpoint): string;
export function detailFields(r: FlowRecord): Array<[string, string]>;
export function escapeHtml(s: unknown): string;
