import { describe, expect, it, vi } from 'vitest';
import { ipcContract, ipcEventChannel, ipcInvokeChannel, type IpcHandlerMap } from '../protocol/ipc-contract';
import type { AppLocation } from './app-location';
import { createEventHub } from './handlers';
import {
  checkSender,
  forwardEventsToWindows,
  registerIpcHandlers,
  type InvokeEventLike,
  type IpcMainLike,
  type SenderPolicy,
} from './ipc-register';
import * as fixtures from './test-support/console-fixtures';
import { fixtureAgentHandlers } from './test-support/handler-map';

const INDEX = 'file:///opt/rmm-console/resources/app/dist/renderer/index.html';
const app: AppLocation = { kind: 'file', indexUrl: INDEX };
const OUR_WINDOW = 7;
const policy: SenderPolicy = { app, isOwnWindow: (id) => id === OUR_WINDOW };

function fakeIpcMain() {
  const listeners = new Map<string, (event: InvokeEventLike, ...args: unknown[]) => unknown>();
  const ipcMain: IpcMainLike = {
    handle: (channel, listener) => {
      if (listeners.has(channel)) throw new Error(`second handler for ${channel}`);
      listeners.set(channel, listener);
    },
    removeHandler: (channel) => listeners.delete(channel),
  };
  const invoke = (channel: string, event: InvokeEventLike, request: unknown): Promise<unknown> => {
    const listener = listeners.get(channel);
    if (!listener) throw new Error(`no handler for ${channel}`);
    return Promise.resolve(listener(event, request));
  };
  return { ipcMain, listeners, invoke };
}

const fakeHandlers = (): IpcHandlerMap => fixtureAgentHandlers('electron');

const topFrame = (url: string, senderId = OUR_WINDOW): InvokeEventLike => ({
  sender: { id: senderId },
  senderFrame: { url, parent: null },
});

describe('IPC sender checks', () => {
  it('accepts the top frame of our window showing our page, fragment and query ignored', () => {
    expect(checkSender(topFrame(INDEX), policy)).toEqual({ ok: true });
    expect(checkSender(topFrame(`${INDEX}#/agents`), policy)).toEqual({ ok: true });
  });

  it('refuses a foreign origin, another local file, a subframe, a foreign window and a vanished frame', () => {
    expect(checkSender(topFrame('https://evil.example/'), policy).ok).toBe(false);
    expect(checkSender(topFrame('file:///tmp/evil/index.html'), policy).ok).toBe(false);
    expect(checkSender(topFrame('file:///opt/rmm-console/resources/app/dist/renderer/other.html'), policy).ok).toBe(false);
    expect(
      checkSender({ sender: { id: OUR_WINDOW }, senderFrame: { url: INDEX, parent: { url: INDEX } } }, policy),
    ).toEqual({ ok: false, reason: 'sender is a subframe' });
    expect(checkSender(topFrame(INDEX, 99), policy)).toEqual({ ok: false, reason: 'sender is not a console window' });
    expect(checkSender({ sender: { id: OUR_WINDOW }, senderFrame: null }, policy).ok).toBe(false);
  });

  it('matches a development origin exactly', () => {
    const dev: SenderPolicy = { app: { kind: 'origin', origin: 'http://localhost:5173' }, isOwnWindow: () => true };
    expect(checkSender(topFrame('http://localhost:5173/index.html'), dev).ok).toBe(true);
    expect(checkSender(topFrame('http://localhost:5174/'), dev).ok).toBe(false);
    expect(checkSender(topFrame('http://localhost.evil.example:5173/'), dev).ok).toBe(false);
  });
});

describe('registerIpcHandlers', () => {
  it('registers exactly one prefixed handle per contract channel and removes them again', () => {
    const { ipcMain, listeners } = fakeIpcMain();
    const unregister = registerIpcHandlers(ipcMain, fakeHandlers(), policy);
    expect([...listeners.keys()].sort()).toEqual(Object.keys(ipcContract).map((c) => `rmm:invoke:${c}`).sort());
    unregister();
    expect(listeners.size).toBe(0);
  });

  it('answers a trusted sender with a typed result', async () => {
    const { ipcMain, invoke } = fakeIpcMain();
    registerIpcHandlers(ipcMain, fakeHandlers(), policy);
    expect(await invoke(ipcInvokeChannel('orgs.list'), topFrame(INDEX), {})).toEqual({
      ok: true,
      value: { orgs: fixtures.orgs },
    });
  });

  it('refuses a foreign origin and a subframe without calling the handler', async () => {
    const { ipcMain, invoke } = fakeIpcMain();
    const handlers = fakeHandlers();
    const spy = vi.spyOn(handlers, 'orgs.list');
    const refused = vi.fn();
    registerIpcHandlers(ipcMain, handlers, policy, refused);

    expect(await invoke(ipcInvokeChannel('orgs.list'), topFrame('https://evil.example/'), {})).toMatchObject({
      ok: false,
      error: { code: 'sender_refused' },
    });
    const subframe: InvokeEventLike = { sender: { id: OUR_WINDOW }, senderFrame: { url: INDEX, parent: {} } };
    expect(await invoke(ipcInvokeChannel('orgs.list'), subframe, {})).toMatchObject({
      ok: false,
      error: { code: 'sender_refused', message: 'sender is a subframe' },
    });
    expect(spy).not.toHaveBeenCalled();
    expect(refused).toHaveBeenCalledTimes(2);
  });

  it('turns a bad request into validation_failed without calling the handler', async () => {
    const { ipcMain, invoke } = fakeIpcMain();
    const handlers = fakeHandlers();
    const spy = vi.spyOn(handlers, 'agents.get');
    registerIpcHandlers(ipcMain, handlers, policy);
    const result = await invoke(ipcInvokeChannel('agents.get'), topFrame(INDEX), { orgId: fixtures.ORG_ID });
    expect(result).toMatchObject({ ok: false, error: { code: 'validation_failed' } });
    expect(spy).not.toHaveBeenCalled();
  });

  it('never lets a thrown error leak its message, and strips fields beyond the contract', async () => {
    const { ipcMain, invoke } = fakeIpcMain();
    const handlers = fakeHandlers();
    handlers['orgs.list'] = async () => {
      throw new Error('secret path /home/tech/.token');
    };
    handlers['agents.get'] = async () => ({ ...fixtures.agentADetail, apiKey: 'should not cross' });
    registerIpcHandlers(ipcMain, handlers, policy);
    expect(await invoke(ipcInvokeChannel('orgs.list'), topFrame(INDEX), {})).toEqual({
      ok: false,
      error: { code: 'internal', message: 'internal error in the console' },
    });
    const detail = await invoke(ipcInvokeChannel('agents.get'), topFrame(INDEX), {
      orgId: fixtures.ORG_ID,
      agentId: fixtures.AGENT_A_ID,
    });
    expect(detail).toEqual({ ok: true, value: fixtures.agentADetail });
  });
});

describe('event forwarding', () => {
  it('sends contract events to live windows only, and drops payloads that break the contract', () => {
    const hub = createEventHub();
    const live = { isDestroyed: () => false, send: vi.fn() };
    const gone = { isDestroyed: () => true, send: vi.fn() };
    forwardEventsToWindows(hub, () => [live, gone]);

    hub.emit('agent.status', { agent: fixtures.agentA });
    hub.emit('agent.status', { agent: { ...fixtures.agentA, id: 'nope' } });

    expect(live.send).toHaveBeenCalledTimes(1);
    expect(live.send).toHaveBeenCalledWith(ipcEventChannel('agent.status'), { agent: fixtures.agentA });
    expect(gone.send).not.toHaveBeenCalled();
  });
});
