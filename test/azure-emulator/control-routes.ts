// The control API over HTTPS under /__emulator/, so other processes (the operator under test, a
// benchmark, a person with curl) can use the control handle. Meant for loopback: no authentication.
import type { EmulatorControl } from './control.js';
import { ControlError, type ApplicationUpdate } from './emulator.js';
import { isRecord, parseJsonBody, type EmulatorRequest, type EmulatorResponse } from './http.js';
import type { FaultSpec } from './faults.js';
import type { WorldSnapshot } from './world.js';

export const controlPrefix = '__emulator';

function text(body: Record<string, unknown>, name: string): string {
  const value = body[name];
  if (typeof value !== 'string' || value === '') throw new ControlError(`'${name}' is required`);
  return value;
}

async function route(control: EmulatorControl, request: EmulatorRequest, info: () => unknown): Promise<EmulatorResponse> {
  const [, resource, id] = request.segments;
  const method = request.method;
  const parsed = parseJsonBody(request);
  const body = isRecord(parsed) ? parsed : {};
  const ok = (value: unknown = { ok: true }): EmulatorResponse => ({ status: 200, body: value });
  switch (`${method} ${resource ?? ''}`) {
    case 'GET health':
      return ok();
    case 'GET info':
      return ok(info());
    case 'POST consent':
      return ok({ objectId: await control.grantConsent(text(body, 'appId'), text(body, 'tenantId'), typeof body['objectId'] === 'string' ? body['objectId'] : undefined) });
    case 'DELETE consent':
      await control.revokeConsent(text(body, 'appId'), text(body, 'tenantId'));
      return ok();
    case 'PATCH applications': {
      if (!id) throw new ControlError('PATCH applications/{appId}');
      const { secrets, replyUrls, disabled, homeServicePrincipal } = body as Omit<ApplicationUpdate, 'appId'>;
      await control.updateApplication({ appId: id, ...(secrets !== undefined ? { secrets } : {}), ...(replyUrls !== undefined ? { replyUrls } : {}), ...(disabled !== undefined ? { disabled } : {}), ...(homeServicePrincipal !== undefined ? { homeServicePrincipal } : {}) });
      return ok();
    }
    case 'POST role-assignments':
      return ok({ id: await control.assignRole(text(body, 'scope'), text(body, 'principalId'), text(body, 'role')) });
    case 'GET faults':
      return ok({ value: await control.faults() });
    case 'POST faults':
      if (typeof body['path'] !== 'string') throw new ControlError("a fault needs a 'path' pattern");
      if (body['operationError'] !== undefined && !(isRecord(body['operationError']) && typeof body['operationError']['code'] === 'string' && body['operationError']['code'] !== '')) {
        throw new ControlError("a fault's 'operationError' needs a 'code'");
      }
      return ok(await control.addFault(body as unknown as FaultSpec));
    case 'DELETE faults':
      if (id) await control.removeFault(id);
      else await control.clearFaults();
      return ok();
    case 'GET holds':
      return ok({ value: await control.holds() });
    case 'POST holds':
      if (body['path'] !== undefined && typeof body['path'] !== 'string') throw new ControlError("a hold's 'path' is a pattern (string)");
      return ok(await control.holdOperations(typeof body['path'] === 'string' ? { path: body['path'] } : {}));
    case 'DELETE holds':
      await control.releaseOperations();
      return ok();
    case 'GET operations':
      return ok({ value: await control.operations() });
    case 'GET requests':
      return ok({ value: await control.requests() });
    case 'DELETE requests':
      await control.clearRequests();
      return ok();
    case 'GET counters':
      return ok(await control.counters());
    case 'POST reset':
      await control.reset();
      return ok();
    case 'GET state':
      return ok(await control.dumpState());
    case 'PUT state':
      await control.loadState(body as unknown as WorldSnapshot);
      return ok();
    case 'GET options':
      return ok(await control.options());
    case 'PATCH options':
      return ok(await control.setOptions(body));
    case 'POST clock':
      await control.advanceClock(Number(body['advanceMs'] ?? 0));
      return ok();
    case 'POST token': {
      const request = { appId: text(body, 'appId'), tenantId: text(body, 'tenantId') } as Parameters<EmulatorControl['issueToken']>[0];
      if (typeof body['audience'] === 'string') request.audience = body['audience'];
      if (typeof body['lifetimeSeconds'] === 'number') request.lifetimeSeconds = body['lifetimeSeconds'];
      return ok({ access_token: await control.issueToken(request) });
    }
    case 'POST admin-token':
      return ok({ access_token: await control.adminToken(text(body, 'tenantId')) });
    default:
      return { status: 404, body: { error: { code: 'NotFound', message: `No control operation '${method} /${request.segments.join('/')}'.` } } };
  }
}

export async function handleControl(control: EmulatorControl, request: EmulatorRequest, info: () => unknown): Promise<EmulatorResponse> {
  try {
    return await route(control, request, info);
  } catch (err) {
    if (err instanceof ControlError || err instanceof SyntaxError) return { status: 400, body: { error: { code: 'BadControlRequest', message: err.message } } };
    throw err;
  }
}
