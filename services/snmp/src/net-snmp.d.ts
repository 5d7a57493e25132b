/**
 * The part of `net-snmp` (which ships no types) that `agent.ts` uses, typed as the 3.29 source
 * behaves. Only agent.ts imports it; nothing of it appears in this package's public types.
 */
declare module 'net-snmp' {
  export const ObjectType: {
    readonly Integer: 2;
    readonly OctetString: 4;
    readonly Null: 5;
    readonly OID: 6;
    readonly Counter: 65;
    readonly Gauge: 66;
    readonly TimeTicks: 67;
    readonly Counter64: 70;
    readonly EndOfMibView: 130;
    readonly Unsigned32: 66;
  };
  export type ObjectTypeCode = 2 | 4 | 5 | 6 | 65 | 66 | 67 | 70 | 128 | 129 | 130;

  export const ErrorStatus: { readonly NoError: 0; readonly TooBig: 1; readonly GeneralError: 5; readonly NoAccess: 6; readonly NotWritable: 17 };
  export const PduType: { readonly GetRequest: 160; readonly GetNextRequest: 161; readonly GetResponse: 162; readonly SetRequest: 163; readonly GetBulkRequest: 165; readonly Report: 168 };
  export const Version1: 0;
  export const Version2c: 1;
  export const Version3: 3;
  export const SecurityLevel: { readonly noAuthNoPriv: 1; readonly authNoPriv: 2; readonly authPriv: 3 };
  export const AuthProtocols: { readonly sha224: 4; readonly sha256: 5; readonly sha384: 6; readonly sha512: 7 };
  export const PrivProtocols: { readonly aes: 4; readonly aes256b: 6; readonly aes256r: 8 };
  export const AccessControlModelType: { readonly None: 0; readonly Simple: 1 };
  export const MibProviderType: { readonly Scalar: 1; readonly Table: 2 };
  export const MaxAccess: { readonly 'not-accessible': 0; readonly 'read-only': 2 };

  export interface Varbind {
    oid: string;
    type: number;
    value: unknown;
  }

  export interface Pdu {
    type: number;
    id: number;
    varbinds: Varbind[];
    errorStatus: number;
    errorIndex: number;
    nonRepeaters: number;
    maxRepetitions: number;
    contextName?: string;
    getResponsePduForRequest(): Pdu;
  }

  export interface SecurityParameters {
    msgAuthoritativeEngineID: Buffer | string;
    msgAuthoritativeEngineBoots: number;
    msgAuthoritativeEngineTime: number;
    msgUserName: string;
  }

  export interface Message {
    version: number;
    community?: string;
    pdu: Pdu;
    buffer: Buffer | null;
    msgGlobalData?: { msgMaxSize: number; msgFlags: number };
    /** SNMPv3: as received (requests) or to be sent. */
    msgSecurityParameters?: SecurityParameters;
    /** SNMPv3: the local user the message was authenticated as. */
    user?: User;
    toBuffer(): Buffer;
    createResponseForRequest(pdu: Pdu): Message;
    /** A report carrying `engine`'s ID, boots and time; `errorType` is usmStats' sub-identifier ('2' notInTimeWindow, '4' unknownEngineID). */
    createReportResponseMessage(engine: Engine, context: string, errorType: string): Message;
    hasAuthentication(): number | boolean | undefined;
    setAuthentication(flag: boolean): void;
    setReportable(flag: boolean): void;
  }

  export interface RemoteInfo {
    address: string;
    port: number;
    family: string;
    size: number;
  }

  export interface SendSocket {
    send(buffer: Buffer, offset: number, length: number, port: number, address: string, cb: (error: Error | null) => void): void;
  }

  export interface ScalarProvider {
    name: string;
    type: 1;
    oid: string;
    scalarType: number;
    maxAccess: number;
  }

  export interface TableColumn {
    number: number;
    name: string;
    type: number;
    maxAccess: number;
  }

  export interface TableProvider {
    name: string;
    type: 2;
    oid: string;
    maxAccess: number;
    tableColumns: TableColumn[];
    tableIndex: ({ columnName: string; foreign?: string } | { columnNumber: number })[];
  }

  export interface Mib {
    registerProviders(providers: (ScalarProvider | TableProvider)[]): void;
    setScalarValue(name: string, value: unknown): void;
    addTableRow(table: string, row: unknown[]): void;
    setTableSingleCell(table: string, column: number, rowIndex: unknown[], value: unknown): void;
    deleteTableRow(table: string, rowIndex: unknown[]): boolean;
  }

  export interface User {
    name: string;
    level: number;
    authProtocol: number;
    authKey: string;
    privProtocol: number;
    privKey: string;
  }

  export interface Authorizer {
    addCommunity(community: string): void;
    addUser(user: User): void;
  }

  export interface Engine {
    engineID: Buffer;
    engineBoots: number;
    engineTime: number;
  }

  export interface Listener {
    send(message: Message, rinfo: RemoteInfo, socket: SendSocket): void;
  }

  export interface Agent {
    engine: Engine;
    listener: Listener;
    getMib(): Mib;
    getAuthorizer(): Authorizer;
    onMsg(socket: SendSocket, buffer: Buffer, rinfo: RemoteInfo): void;
    getRequest(socket: SendSocket, message: Message, rinfo: RemoteInfo): void;
    getNextRequest(socket: SendSocket, message: Message, rinfo: RemoteInfo): void;
    getBulkRequest(socket: SendSocket, message: Message, rinfo: RemoteInfo): void;
    setRequest(socket: SendSocket, message: Message, rinfo: RemoteInfo): void;
    /** A request with a context name (net-snmp's proxy forwarder). */
    onProxyRequest(socket: SendSocket, message: Message, rinfo: RemoteInfo): void;
    /** The context name of the agent's reports ('' here). */
    context: string;
    sendResponse(socket: SendSocket, rinfo: RemoteInfo, request: Message, response: Pdu): void;
    close(): void;
  }

  export interface AgentOptions {
    engineID: Buffer;
    accessControlModelType: number;
    disableAuthorization: boolean;
    /** Replaces node:dgram: the agent's own listener then creates no real socket. */
    dgramModule: { createSocket(type: string): unknown };
    port: number;
  }

  export function createAgent(options: AgentOptions, callback: (error: (Error & { code?: number }) | null, data?: unknown) => void): Agent;
}
