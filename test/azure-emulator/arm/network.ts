// The part of Microsoft.Network (and Microsoft.Compute/disks) that VMs touch: virtual networks and
// subnets (seeded or PUT), and the network interfaces, public IPs and OS disks a VM makes for
// itself from networkInterfaceConfigurations and its storage profile — readable, and deleted or
// detached with the VM according to their deleteOption.
import { createHash } from 'node:crypto';
import { isRecord, type EmulatorResponse } from '../http.js';
import { deterministicGuid, idKey, newGuid, normalizeRegion, parseResourceId, resourceGroupId } from '../ids.js';
import type { PlainResourceRecord, VirtualMachineRecord, World } from '../world.js';
import { callerCan, pagedList, properties, requestBody, type ArmContext } from './context.js';
import { ArmError, armErrors } from './errors.js';
import { isLongRunning, pollingHeaders, provisioningFor, provisioningState, startOperation } from './lro.js';
import { locationOf, param, requireResourceGroup, tagsOf } from './lookup.js';

type PlainKind = PlainResourceRecord['kind'];

const types: Record<PlainKind, string> = {
  virtualNetwork: 'Microsoft.Network/virtualNetworks',
  subnet: 'Microsoft.Network/virtualNetworks/subnets',
  networkInterface: 'Microsoft.Network/networkInterfaces',
  publicIPAddress: 'Microsoft.Network/publicIPAddresses',
  disk: 'Microsoft.Compute/disks',
};

function plain(world: World, id: string, kind: PlainKind): PlainResourceRecord | undefined {
  const record = world.resource(id);
  return record?.kind === kind ? record : undefined;
}

function etag(record: PlainResourceRecord): string {
  return `W/"${deterministicGuid('etag', record.id.toLowerCase(), JSON.stringify(record.properties))}"`;
}

// ---- IPv4 prefixes ----

function parsePrefix(prefix: unknown): { base: number; bits: number } | undefined {
  if (typeof prefix !== 'string') return undefined;
  const match = /^(\d+)\.(\d+)\.(\d+)\.(\d+)\/(\d+)$/.exec(prefix.trim());
  if (!match) return undefined;
  const octets = match.slice(1, 5).map(Number);
  const bits = Number(match[5]);
  if (octets.some((o) => o > 255) || bits > 32) return undefined;
  const address = octets.reduce((acc, o) => acc * 256 + o, 0);
  const size = 2 ** (32 - bits);
  return { base: address - (address % size), bits };
}

function formatAddress(address: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(address / 2 ** shift) % 256).join('.');
}

function within(inner: { base: number; bits: number }, outer: { base: number; bits: number }): boolean {
  return inner.bits >= outer.bits && inner.base >= outer.base && inner.base + 2 ** (32 - inner.bits) <= outer.base + 2 ** (32 - outer.bits);
}

// ---- rendering ----

function ipConfigurationsIn(world: World, subnetId: string): string[] {
  const ids: string[] = [];
  for (const record of world.resources.values()) {
    if (record.kind !== 'networkInterface') continue;
    for (const ip of ipConfigurationsOf(record)) if (idKey(ip.subnetId) === idKey(subnetId)) ids.push(ip.id);
  }
  return ids;
}

function ipConfigurationsOf(nic: PlainResourceRecord): { id: string; subnetId: string; address: string; publicIp?: string }[] {
  const configurations = Array.isArray(nic.properties['ipConfigurations']) ? nic.properties['ipConfigurations'] : [];
  return configurations.filter(isRecord).map((c) => {
    const props = isRecord(c['properties']) ? c['properties'] : {};
    const subnet = isRecord(props['subnet']) ? String(props['subnet']['id']) : '';
    const publicIp = isRecord(props['publicIPAddress']) ? String(props['publicIPAddress']['id']) : undefined;
    return { id: String(c['id']), subnetId: subnet, address: String(props['privateIPAddress']), ...(publicIp ? { publicIp } : {}) };
  });
}

function renderSubnet(ctx: ArmContext, subnet: PlainResourceRecord): Record<string, unknown> {
  const ipConfigurations = ipConfigurationsIn(ctx.world, subnet.id).map((id) => ({ id }));
  return {
    id: subnet.id,
    name: subnet.name,
    type: types.subnet,
    etag: etag(subnet),
    properties: { ...subnet.properties, provisioningState: provisioningState(subnet, ctx.now), ...(ipConfigurations.length ? { ipConfigurations } : {}) },
  };
}

function subnetsOf(world: World, vnet: PlainResourceRecord): PlainResourceRecord[] {
  return world.resourcesBelow(vnet.id).filter((r): r is PlainResourceRecord => r.kind === 'subnet');
}

export function renderPlain(ctx: ArmContext, record: PlainResourceRecord): Record<string, unknown> {
  if (record.kind === 'subnet') return renderSubnet(ctx, record);
  const props: Record<string, unknown> = { ...record.properties, provisioningState: provisioningState(record, ctx.now) };
  if (record.kind === 'virtualNetwork') props['subnets'] = subnetsOf(ctx.world, record).map((s) => renderSubnet(ctx, s));
  if (record.kind === 'disk') props['diskState'] = record.managedBy ? 'Attached' : 'Unattached';
  return {
    id: record.id,
    name: record.name,
    type: record.type,
    location: record.location,
    ...(record.kind !== 'disk' ? { etag: etag(record) } : {}),
    ...(record.tags ? { tags: record.tags } : {}),
    ...(record.sku ? { sku: record.sku } : {}),
    ...(record.managedBy ? { managedBy: record.managedBy } : {}),
    properties: props,
  };
}

// ---- creating records (seed, PUT, VMs) ----

function newRecord(kind: PlainKind, id: string, location: string, properties: Record<string, unknown>, now: number, extra: Partial<PlainResourceRecord> = {}): PlainResourceRecord {
  const parsed = parseResourceId(id);
  const segments = id.split('/').filter(Boolean);
  return {
    kind,
    type: types[kind],
    id,
    name: segments[segments.length - 1] ?? '',
    subscriptionId: parsed?.subscriptionId ?? '',
    resourceGroup: parsed?.resourceGroup ?? '',
    location,
    properties,
    provisioning: { state: 'Succeeded', until: 0 },
    createdAt: now,
    ...extra,
  };
}

export function virtualNetworkId(subscriptionId: string, resourceGroup: string, name: string): string {
  return `${resourceGroupId(subscriptionId, resourceGroup)}/providers/Microsoft.Network/virtualNetworks/${name}`;
}

/** Checks a subnet against its vnet's address space; throws Azure's NetcfgSubnetRangeOutsideVnet / NetcfgInvalidSubnet. */
function checkSubnetPrefix(vnetName: string, addressPrefixes: string[], subnetName: string, prefix: unknown): void {
  const parsed = parsePrefix(prefix);
  if (!parsed) throw new ArmError(400, 'NetcfgInvalidSubnet', `Subnet '${subnetName}' is not valid in virtual network '${vnetName}'.`);
  if (!addressPrefixes.map(parsePrefix).some((outer) => outer && within(parsed, outer))) {
    throw new ArmError(400, 'NetcfgSubnetRangeOutsideVnet', `Subnet '${subnetName}' is not valid because its IP address range is outside the IP address range of virtual network '${vnetName}'.`);
  }
}

export interface SeedVirtualNetwork {
  subscription: string;
  resourceGroup: string;
  name: string;
  location: string;
  addressSpace?: string[];
  subnets?: { name: string; addressPrefix: string }[];
  tags?: Record<string, string>;
}

/** Adds a seeded virtual network and its subnets; throws a plain Error naming the problem. */
export function addVirtualNetwork(world: World, v: SeedVirtualNetwork, now: number): void {
  const id = virtualNetworkId(v.subscription, v.resourceGroup, v.name);
  const addressPrefixes = v.addressSpace ?? ['10.0.0.0/16'];
  const vnet = newRecord('virtualNetwork', id, v.location, { addressSpace: { addressPrefixes }, resourceGuid: deterministicGuid('vnet', id.toLowerCase()), enableDdosProtection: false }, now, v.tags ? { tags: v.tags } : {});
  world.putResource(vnet);
  for (const s of v.subnets ?? []) {
    checkSubnetPrefix(v.name, addressPrefixes, s.name, s.addressPrefix);
    world.putResource(newRecord('subnet', `${id}/subnets/${s.name}`, v.location, { addressPrefix: s.addressPrefix, privateEndpointNetworkPolicies: 'Disabled', privateLinkServiceNetworkPolicies: 'Enabled' }, now));
  }
}

// ---- HTTP handlers: virtual networks and subnets ----

function answer(ctx: ArmContext, body: Record<string, unknown>, status: number, location: string): EmulatorResponse {
  if (!isLongRunning(ctx)) return { status, body };
  return { status, body, headers: pollingHeaders(ctx, startOperation(ctx, { location }), false) };
}

function removeLater(ctx: ArmContext, record: { id: string; location: string; provisioning: PlainResourceRecord['provisioning'] }): EmulatorResponse {
  if (!isLongRunning(ctx)) {
    for (const child of ctx.world.resourcesBelow(record.id)) ctx.world.deleteResource(child.id);
    ctx.world.deleteResource(record.id);
    return { status: 200 };
  }
  record.provisioning = { state: 'Deleting', until: Number.MAX_SAFE_INTEGER };
  return { status: 202, headers: pollingHeaders(ctx, startOperation(ctx, { location: record.location, effect: { kind: 'delete', resourceId: record.id } }), true) };
}

function inUseSubnet(ctx: ArmContext, subnet: PlainResourceRecord): void {
  const users = ipConfigurationsIn(ctx.world, subnet.id);
  if (users.length > 0) {
    throw new ArmError(400, 'InUseSubnetCannotBeDeleted', `Subnet ${subnet.name} is in use by ${users[0]} and cannot be deleted. In order to delete the subnet, delete all the resources within the subnet. See aka.ms/deletesubnet.`);
  }
}

function vnetIdOf(ctx: ArmContext): string {
  return virtualNetworkId(param(ctx, 'subscriptionId'), param(ctx, 'resourceGroupName'), param(ctx, 'virtualNetworkName'));
}

function requirePlain(ctx: ArmContext, id: string, kind: PlainKind, name: string): PlainResourceRecord {
  requireResourceGroup(ctx);
  const record = plain(ctx.world, id, kind);
  if (!record) throw armErrors.resourceNotFound(types[kind], name, param(ctx, 'resourceGroupName'));
  return record;
}

function putVirtualNetwork(ctx: ArmContext): EmulatorResponse {
  requireResourceGroup(ctx);
  const body = requestBody(ctx);
  const location = locationOf(body);
  const props = properties(body);
  const id = vnetIdOf(ctx);
  const name = param(ctx, 'virtualNetworkName');
  const existing = plain(ctx.world, id, 'virtualNetwork');
  if (existing && normalizeRegion(existing.location) !== normalizeRegion(location)) {
    throw new ArmError(400, 'InvalidResourceLocation', `The resource '${name}' already exists in location '${existing.location}' in resource group '${param(ctx, 'resourceGroupName')}'. A resource with the same name cannot be created in location '${location}'. Please select a new resource name.`);
  }
  const space = isRecord(props['addressSpace']) && Array.isArray(props['addressSpace']['addressPrefixes']) ? props['addressSpace']['addressPrefixes'].map(String) : [];
  const subnets = Array.isArray(props['subnets']) ? props['subnets'].filter(isRecord) : [];
  const wanted = subnets.map((s) => ({ name: typeof s['name'] === 'string' ? s['name'] : '', props: isRecord(s['properties']) ? s['properties'] : {} }));
  for (const s of wanted) checkSubnetPrefix(name, space, s.name, s.props['addressPrefix']);
  // A PUT replaces the subnet list: subnets left out are deleted, which Azure refuses while they are in use.
  const current = existing ? subnetsOf(ctx.world, existing) : [];
  for (const subnet of current) if (!wanted.some((w) => w.name.toLowerCase() === subnet.name.toLowerCase())) inUseSubnet(ctx, subnet);
  for (const subnet of current) if (!wanted.some((w) => w.name.toLowerCase() === subnet.name.toLowerCase())) ctx.world.deleteResource(subnet.id);
  const tags = tagsOf(body);
  const vnet = newRecord('virtualNetwork', existing?.id ?? id, location, { addressSpace: { addressPrefixes: space }, resourceGuid: existing?.properties['resourceGuid'] ?? newGuid(), enableDdosProtection: props['enableDdosProtection'] ?? false }, existing?.createdAt ?? ctx.now, {
    provisioning: provisioningFor(ctx, existing ? 'Updating' : 'Creating'),
    ...(tags ? { tags } : {}),
  });
  ctx.world.putResource(vnet);
  for (const s of wanted) {
    const subnetId = `${vnet.id}/subnets/${s.name}`;
    const old = plain(ctx.world, subnetId, 'subnet');
    const { provisioningState: _state, ipConfigurations: _ips, ...rest } = s.props;
    ctx.world.putResource(newRecord('subnet', old?.id ?? subnetId, location, { ...rest, addressPrefix: s.props['addressPrefix'] }, old?.createdAt ?? ctx.now, { provisioning: vnet.provisioning }));
  }
  return answer(ctx, renderPlain(ctx, vnet), existing ? 200 : 201, location);
}

function putSubnet(ctx: ArmContext): EmulatorResponse {
  requireResourceGroup(ctx);
  const vnet = plain(ctx.world, vnetIdOf(ctx), 'virtualNetwork');
  if (!vnet) throw armErrors.parentNotFound(param(ctx, 'virtualNetworkName'));
  const name = param(ctx, 'subnetName');
  const props = properties(requestBody(ctx));
  const space = isRecord(vnet.properties['addressSpace']) && Array.isArray(vnet.properties['addressSpace']['addressPrefixes']) ? vnet.properties['addressSpace']['addressPrefixes'].map(String) : [];
  checkSubnetPrefix(vnet.name, space, name, props['addressPrefix']);
  const id = `${vnet.id}/subnets/${name}`;
  const existing = plain(ctx.world, id, 'subnet');
  const { provisioningState: _state, ipConfigurations: _ips, ...rest } = props;
  const subnet = newRecord('subnet', existing?.id ?? id, vnet.location, rest, existing?.createdAt ?? ctx.now, { provisioning: provisioningFor(ctx, existing ? 'Updating' : 'Creating') });
  ctx.world.putResource(subnet);
  return answer(ctx, renderSubnet(ctx, subnet), existing ? 200 : 201, vnet.location);
}

function deleteVirtualNetwork(ctx: ArmContext): EmulatorResponse {
  requireResourceGroup(ctx);
  const vnet = plain(ctx.world, vnetIdOf(ctx), 'virtualNetwork');
  if (!vnet) return { status: 204 };
  for (const subnet of subnetsOf(ctx.world, vnet)) inUseSubnet(ctx, subnet);
  return removeLater(ctx, vnet);
}

function deleteSubnet(ctx: ArmContext): EmulatorResponse {
  requireResourceGroup(ctx);
  const subnet = plain(ctx.world, `${vnetIdOf(ctx)}/subnets/${param(ctx, 'subnetName')}`, 'subnet');
  if (!subnet) return { status: 204 };
  inUseSubnet(ctx, subnet);
  return removeLater(ctx, subnet);
}

function listIn(ctx: ArmContext, kind: PlainKind): EmulatorResponse {
  const rg = requireResourceGroup(ctx);
  return pagedList(ctx, ctx.world.resourcesBelow(rg.id).filter((r): r is PlainResourceRecord => r.kind === kind).map((r) => renderPlain(ctx, r)));
}

function typedId(ctx: ArmContext, provider: string, type: string, nameParam: string): string {
  return `${resourceGroupId(param(ctx, 'subscriptionId'), param(ctx, 'resourceGroupName'))}/providers/${provider}/${type}/${param(ctx, nameParam)}`;
}

// ---- HTTP handlers: what VMs make (NICs, public IPs, disks): read, list, delete ----

function deleteNic(ctx: ArmContext): EmulatorResponse {
  requireResourceGroup(ctx);
  const nic = plain(ctx.world, typedId(ctx, 'Microsoft.Network', 'networkInterfaces', 'networkInterfaceName'), 'networkInterface');
  if (!nic) return { status: 204 };
  const vm = isRecord(nic.properties['virtualMachine']) ? String(nic.properties['virtualMachine']['id']) : undefined;
  if (vm) {
    throw new ArmError(400, 'NicInUse', `Network Interface ${nic.id} is used by existing resource ${vm}. In order to delete the network interface, it must be dissociated from the resource. To learn more, see aka.ms/deletenic.`);
  }
  return removeLater(ctx, nic);
}

function deletePublicIp(ctx: ArmContext): EmulatorResponse {
  requireResourceGroup(ctx);
  const ip = plain(ctx.world, typedId(ctx, 'Microsoft.Network', 'publicIPAddresses', 'publicIpAddressName'), 'publicIPAddress');
  if (!ip) return { status: 204 };
  const user = isRecord(ip.properties['ipConfiguration']) ? String(ip.properties['ipConfiguration']['id']) : undefined;
  if (user) {
    throw new ArmError(400, 'PublicIPAddressCannotBeDeleted', `Public IP address ${ip.id} can not be deleted since it is still allocated to resource ${user}. In order to delete the public IP, disassociate/detach the Public IP address from the resource. To learn how to do this, see aka.ms/deletepublicip.`);
  }
  return removeLater(ctx, ip);
}

function deleteDisk(ctx: ArmContext): EmulatorResponse {
  requireResourceGroup(ctx);
  const disk = plain(ctx.world, typedId(ctx, 'Microsoft.Compute', 'disks', 'diskName'), 'disk');
  if (!disk) return { status: 204 };
  if (disk.managedBy) throw new ArmError(409, 'OperationNotAllowed', `Disk ${disk.name} is attached to VM ${disk.managedBy}.`);
  return removeLater(ctx, disk);
}

export const network = {
  listVirtualNetworks: (ctx: ArmContext) => listIn(ctx, 'virtualNetwork'),
  putVirtualNetwork,
  getVirtualNetwork: (ctx: ArmContext): EmulatorResponse => ({ status: 200, body: renderPlain(ctx, requirePlain(ctx, vnetIdOf(ctx), 'virtualNetwork', param(ctx, 'virtualNetworkName'))) }),
  deleteVirtualNetwork,
  listSubnets: (ctx: ArmContext): EmulatorResponse => {
    const vnet = requirePlain(ctx, vnetIdOf(ctx), 'virtualNetwork', param(ctx, 'virtualNetworkName'));
    return pagedList(ctx, subnetsOf(ctx.world, vnet).map((s) => renderSubnet(ctx, s)));
  },
  putSubnet,
  getSubnet: (ctx: ArmContext): EmulatorResponse => {
    requirePlain(ctx, vnetIdOf(ctx), 'virtualNetwork', param(ctx, 'virtualNetworkName'));
    return { status: 200, body: renderSubnet(ctx, requirePlain(ctx, `${vnetIdOf(ctx)}/subnets/${param(ctx, 'subnetName')}`, 'subnet', `${param(ctx, 'virtualNetworkName')}/${param(ctx, 'subnetName')}`)) };
  },
  deleteSubnet,
  listNetworkInterfaces: (ctx: ArmContext) => listIn(ctx, 'networkInterface'),
  getNetworkInterface: (ctx: ArmContext): EmulatorResponse => ({
    status: 200,
    body: renderPlain(ctx, requirePlain(ctx, typedId(ctx, 'Microsoft.Network', 'networkInterfaces', 'networkInterfaceName'), 'networkInterface', param(ctx, 'networkInterfaceName'))),
  }),
  deleteNetworkInterface: deleteNic,
  listPublicIpAddresses: (ctx: ArmContext) => listIn(ctx, 'publicIPAddress'),
  getPublicIpAddress: (ctx: ArmContext): EmulatorResponse => ({
    status: 200,
    body: renderPlain(ctx, requirePlain(ctx, typedId(ctx, 'Microsoft.Network', 'publicIPAddresses', 'publicIpAddressName'), 'publicIPAddress', param(ctx, 'publicIpAddressName'))),
  }),
  deletePublicIpAddress: deletePublicIp,
  listDisks: (ctx: ArmContext) => listIn(ctx, 'disk'),
  getDisk: (ctx: ArmContext): EmulatorResponse => ({ status: 200, body: renderPlain(ctx, requirePlain(ctx, typedId(ctx, 'Microsoft.Compute', 'disks', 'diskName'), 'disk', param(ctx, 'diskName'))) }),
  deleteDisk,
};

// ---- what a VM makes for itself ----

const joinSubnet = 'Microsoft.Network/virtualNetworks/subnets/join/action';

/** Azure's answer for a subnet that does not exist (or is in another region than the NIC). */
function referenceNotFound(referenced: string, nicId: string, missing: string): ArmError {
  return new ArmError(
    400,
    'InvalidResourceReference',
    `Resource ${referenced} referenced by resource ${nicId} was not found. Please make sure that the referenced resource exists, and that both resources are in the same region.`,
    {},
    [{ code: 'NotFound', message: `Resource ${missing} not found.` }],
  );
}

/** A subnet a VM's NIC joins: in the VM's subscription, existing, in the VM's region. */
export function requireSubnet(ctx: ArmContext, subnetId: string, nicId: string, location: string): PlainResourceRecord {
  const parsed = parseResourceId(subnetId);
  const path = parsed?.providerPath ?? [];
  const isSubnet = path[0]?.toLowerCase() === 'microsoft.network' && path[1]?.toLowerCase() === 'virtualnetworks' && path[3]?.toLowerCase() === 'subnets' && path[4] && path.length === 5;
  if (!parsed || !parsed.resourceGroup || !isSubnet) {
    throw new ArmError(400, 'InvalidJsonReferenceFormat', `Reference Id ${subnetId} is not formatted correctly. The Id is expected to reference resources of type virtualNetworks/subnets.`);
  }
  if (parsed.subscriptionId.toLowerCase() !== (ctx.params['subscriptionId'] ?? '').toLowerCase()) {
    throw new ArmError(400, 'InvalidResourceReference', `Resource ${subnetId} referenced by resource ${nicId} was not found. Subnets must be in the subscription of the virtual machine.`);
  }
  // ARM's linked authorization: joining a subnet needs subnets/join/action on it (Contributor has it, Reader not).
  if (!callerCan(ctx, joinSubnet, subnetId)) {
    const oid = ctx.caller.objectId;
    const write = /\/virtualMachineScaleSets\//i.test(ctx.request.path) ? 'Microsoft.Compute/virtualMachineScaleSets/write' : 'Microsoft.Compute/virtualMachines/write';
    throw new ArmError(
      403,
      'LinkedAuthorizationFailed',
      `The client '${oid}' with object id '${oid}' has permission to perform action '${write}' on scope '${ctx.request.path}'; however, it does not have permission to perform action(s) '${joinSubnet}' on the linked scope(s) '${subnetId}' (respectively) or the linked scope(s) are invalid.`,
    );
  }
  const vnetId = virtualNetworkId(parsed.subscriptionId, parsed.resourceGroup, path[2] ?? '');
  const vnet = plain(ctx.world, vnetId, 'virtualNetwork');
  if (!vnet) throw referenceNotFound(vnetId, nicId, vnetId);
  const subnet = plain(ctx.world, `${vnet.id}/subnets/${path[4]}`, 'subnet');
  if (!subnet) throw referenceNotFound(subnetId, nicId, subnetId);
  if (normalizeRegion(vnet.location) !== normalizeRegion(location)) throw referenceNotFound(subnetId, nicId, subnetId);
  return subnet;
}

/** The lowest free address of a subnet (Azure keeps the first four and the last). */
function allocateAddress(world: World, subnet: PlainResourceRecord): string {
  const prefix = parsePrefix(subnet.properties['addressPrefix']);
  if (!prefix) throw new ArmError(400, 'NetcfgInvalidSubnet', `Subnet '${subnet.name}' has no valid address prefix.`);
  const used = new Set<string>();
  for (const record of world.resources.values()) {
    if (record.kind !== 'networkInterface') continue;
    for (const ip of ipConfigurationsOf(record)) if (idKey(ip.subnetId) === idKey(subnet.id)) used.add(ip.address);
  }
  const size = 2 ** (32 - prefix.bits);
  for (let offset = 4; offset < size - 1; offset++) {
    const address = formatAddress(prefix.base + offset);
    if (!used.has(address)) return address;
  }
  throw new ArmError(400, 'SubnetIsFull', `Subnet ${subnet.name} with address prefix ${String(subnet.properties['addressPrefix'])} does not have enough capacity for 1 IP addresses.`);
}

function publicAddress(id: string): string {
  const bytes = createHash('sha256').update(id.toLowerCase()).digest();
  return `20.${bytes[0]! % 256}.${bytes[1]! % 256}.${(bytes[2]! % 254) + 1}`;
}

function macAddress(id: string): string {
  const hex = createHash('sha256').update(id.toLowerCase()).digest('hex').toUpperCase();
  return ['00', '0D', '3A', hex.slice(0, 2), hex.slice(2, 4), hex.slice(4, 6)].join('-');
}

type DeleteOption = 'Delete' | 'Detach';

function deleteOptionOf(value: unknown, target: string): DeleteOption {
  if (value === undefined || value === null) return 'Detach';
  if (value === 'Delete' || value === 'Detach') return value;
  throw armErrors.invalidParameter(`The value '${JSON.stringify(value)}' of parameter '${target}.deleteOption' is not valid. Allowed values are 'Delete' and 'Detach'.`, `${target}.deleteOption`);
}

export interface PlannedNic {
  id: string;
  primary: boolean;
  deleteOption: DeleteOption;
  configuration: Record<string, unknown>;
  ipConfigurations: { name: string; subnet: PlainResourceRecord; primary: boolean; publicIp?: { id: string; deleteOption: DeleteOption; sku?: Record<string, unknown>; method?: unknown } }[];
}

/**
 * Checks the NIC configurations of a VM (or scale set) PUT and plans the NICs and public IPs the VM
 * makes: named `{vm}-{configuration}` and `{vm}-{publicIPAddressConfiguration}` in the VM's group.
 * `networkApiVersion` is required for a VM (a scale set: only Flexible, checked with its mode).
 */
export function planNetwork(ctx: ArmContext, networkProfile: unknown, target: string, location: string, vmName: string, requireApiVersion = true): PlannedNic[] {
  if (!isRecord(networkProfile)) throw armErrors.invalidParameter(`Required parameter '${target}.networkProfile' is missing (null).`, `${target}.networkProfile`);
  const configurations = Array.isArray(networkProfile['networkInterfaceConfigurations']) ? networkProfile['networkInterfaceConfigurations'] : [];
  const interfaces = Array.isArray(networkProfile['networkInterfaces']) ? networkProfile['networkInterfaces'] : [];
  if (configurations.length + interfaces.length === 0) {
    throw armErrors.invalidParameter('At least one network interface (networkInterfaces or networkInterfaceConfigurations) is required.', `${target}.networkProfile`);
  }
  if (requireApiVersion && configurations.length > 0 && typeof networkProfile['networkApiVersion'] !== 'string') {
    throw armErrors.invalidParameter(`Required parameter '${target}.networkProfile.networkApiVersion' is missing (null). It is required when networkInterfaceConfigurations are given.`, `${target}.networkProfile.networkApiVersion`);
  }
  const group = resourceGroupId(param(ctx, 'subscriptionId'), param(ctx, 'resourceGroupName'));
  return configurations.map((configuration, n) => {
    const c = isRecord(configuration) ? configuration : {};
    const props = isRecord(c['properties']) ? c['properties'] : {};
    const name = typeof c['name'] === 'string' && c['name'] !== '' ? c['name'] : undefined;
    if (!name) throw armErrors.invalidParameter(`Required parameter 'name' of '${target}.networkProfile.networkInterfaceConfigurations[${n}]' is missing (null).`, `${target}.networkProfile.networkInterfaceConfigurations`);
    const nicId = `${group}/providers/Microsoft.Network/networkInterfaces/${vmName}-${name}`;
    const ipConfigurations = Array.isArray(props['ipConfigurations']) ? props['ipConfigurations'] : [];
    if (ipConfigurations.length === 0) throw armErrors.invalidParameter(`Network interface configuration '${name}' needs at least one IP configuration.`, `${target}.networkProfile.networkInterfaceConfigurations`);
    return {
      id: nicId,
      primary: props['primary'] === true || configurations.length === 1,
      deleteOption: deleteOptionOf(props['deleteOption'], `${target}.networkProfile.networkInterfaceConfigurations[${n}]`),
      configuration: c,
      ipConfigurations: ipConfigurations.map((ip, i) => {
        const ipc = isRecord(ip) ? ip : {};
        const ipProps = isRecord(ipc['properties']) ? ipc['properties'] : {};
        const subnetId = isRecord(ipProps['subnet']) ? ipProps['subnet']['id'] : undefined;
        if (typeof subnetId !== 'string') throw armErrors.invalidParameter('Each IP configuration needs a subnet id.', `${target}.networkProfile.networkInterfaceConfigurations`);
        const pip = isRecord(ipProps['publicIPAddressConfiguration']) ? ipProps['publicIPAddressConfiguration'] : undefined;
        const pipProps = pip && isRecord(pip['properties']) ? pip['properties'] : {};
        return {
          name: typeof ipc['name'] === 'string' ? ipc['name'] : `ipconfig${i + 1}`,
          subnet: requireSubnet(ctx, subnetId, nicId, location),
          primary: ipProps['primary'] === true || ipConfigurations.length === 1,
          ...(pip
            ? {
                publicIp: {
                  id: `${group}/providers/Microsoft.Network/publicIPAddresses/${vmName}-${typeof pip['name'] === 'string' ? pip['name'] : `${name}-pip`}`,
                  deleteOption: deleteOptionOf(pipProps['deleteOption'], `${target}.networkProfile.networkInterfaceConfigurations[${n}].ipConfigurations[${i}].publicIPAddressConfiguration`),
                  ...(isRecord(pip['sku']) ? { sku: pip['sku'] } : {}),
                  method: pipProps['publicIPAllocationMethod'],
                },
              }
            : {}),
        };
      }),
    };
  });
}

/** Makes (or keeps) the planned NICs and public IPs of a VM; returns what the VM now owns. */
export function makeNetwork(ctx: ArmContext, vmId: string, location: string, plans: PlannedNic[]): { id: string; deleteOption: DeleteOption }[] {
  const owned: { id: string; deleteOption: DeleteOption }[] = [];
  for (const plan of plans) {
    const existing = plain(ctx.world, plan.id, 'networkInterface');
    const oldAddresses = new Map(existing ? ipConfigurationsOf(existing).map((ip) => [idKey(ip.id), { subnet: idKey(ip.subnetId), address: ip.address }]) : []);
    const ipConfigurations = plan.ipConfigurations.map((ip) => {
      const ipId = `${plan.id}/ipConfigurations/${ip.name}`;
      const old = oldAddresses.get(idKey(ipId));
      const address = old && old.subnet === idKey(ip.subnet.id) ? old.address : allocateAddress(ctx.world, ip.subnet);
      if (ip.publicIp) {
        const sku = ip.publicIp.sku ?? { name: 'Standard', tier: 'Regional' };
        const oldIp = plain(ctx.world, ip.publicIp.id, 'publicIPAddress');
        ctx.world.putResource(
          newRecord(
            'publicIPAddress',
            oldIp?.id ?? ip.publicIp.id,
            location,
            {
              resourceGuid: oldIp?.properties['resourceGuid'] ?? newGuid(),
              publicIPAddressVersion: 'IPv4',
              publicIPAllocationMethod: ip.publicIp.method ?? (sku['name'] === 'Basic' ? 'Dynamic' : 'Static'),
              idleTimeoutInMinutes: 4,
              ipAddress: publicAddress(ip.publicIp.id),
              ipConfiguration: { id: ipId },
            },
            oldIp?.createdAt ?? ctx.now,
            { sku },
          ),
        );
        owned.push({ id: ip.publicIp.id, deleteOption: ip.publicIp.deleteOption });
      }
      return {
        id: ipId,
        name: ip.name,
        type: 'Microsoft.Network/networkInterfaces/ipConfigurations',
        properties: {
          provisioningState: 'Succeeded',
          privateIPAddress: address,
          privateIPAllocationMethod: 'Dynamic',
          privateIPAddressVersion: 'IPv4',
          subnet: { id: ip.subnet.id },
          primary: ip.primary,
          ...(ip.publicIp ? { publicIPAddress: { id: ip.publicIp.id } } : {}),
        },
      };
    });
    const props = isRecord(plan.configuration['properties']) ? plan.configuration['properties'] : {};
    ctx.world.putResource(
      newRecord(
        'networkInterface',
        existing?.id ?? plan.id,
        location,
        {
          resourceGuid: existing?.properties['resourceGuid'] ?? newGuid(),
          ipConfigurations,
          macAddress: macAddress(plan.id),
          primary: plan.primary,
          enableAcceleratedNetworking: props['enableAcceleratedNetworking'] ?? false,
          enableIPForwarding: props['enableIPForwarding'] ?? false,
          nicType: 'Standard',
          virtualMachine: { id: vmId },
          ...(isRecord(props['networkSecurityGroup']) ? { networkSecurityGroup: props['networkSecurityGroup'] } : {}),
        },
        existing?.createdAt ?? ctx.now,
      ),
    );
    owned.push({ id: existing?.id ?? plan.id, deleteOption: plan.deleteOption });
  }
  return owned;
}

/** The managed OS disk a VM is created with (kept across updates). */
export function makeOsDisk(ctx: ArmContext, vmId: string, location: string, osDisk: Record<string, unknown>, imageId: string | undefined): string {
  const group = resourceGroupId(param(ctx, 'subscriptionId'), param(ctx, 'resourceGroupName'));
  const id = `${group}/providers/Microsoft.Compute/disks/${String(osDisk['name'])}`;
  const existing = plain(ctx.world, id, 'disk');
  const managed = isRecord(osDisk['managedDisk']) ? osDisk['managedDisk'] : {};
  ctx.world.putResource(
    newRecord(
      'disk',
      existing?.id ?? id,
      location,
      {
        osType: osDisk['osType'],
        hyperVGeneration: existing?.properties['hyperVGeneration'] ?? 'V2',
        creationData: { createOption: 'FromImage', ...(imageId ? { galleryImageReference: { id: imageId } } : {}) },
        diskSizeGB: osDisk['diskSizeGB'] ?? 30,
        timeCreated: existing?.properties['timeCreated'] ?? new Date(ctx.now).toISOString(),
        uniqueId: existing?.properties['uniqueId'] ?? newGuid(),
      },
      existing?.createdAt ?? ctx.now,
      { sku: { name: typeof managed['storageAccountType'] === 'string' ? managed['storageAccountType'] : 'Premium_LRS', tier: 'Premium' }, managedBy: vmId },
    ),
  );
  return existing?.id ?? id;
}

/** What happens to a VM's NICs, public IPs and OS disk when it is deleted: each by its deleteOption. */
export function releaseOwned(world: World, vm: VirtualMachineRecord): void {
  for (const item of vm.owned ?? []) {
    const record = world.resource(item.id);
    if (!record || record.kind === 'resourceGroup' || !('properties' in record) || !('type' in record)) continue;
    if (item.deleteOption === 'Delete') {
      world.deleteResource(record.id);
      continue;
    }
    if (record.kind === 'networkInterface') delete record.properties['virtualMachine'];
    if (record.kind === 'disk') delete record.managedBy;
  }
  // A public IP whose NIC went keeps no configuration to point at.
  for (const item of vm.owned ?? []) {
    const ip = world.resource(item.id);
    if (ip?.kind !== 'publicIPAddress') continue;
    const configuration = isRecord(ip.properties['ipConfiguration']) ? String(ip.properties['ipConfiguration']['id']) : '';
    const nicId = configuration.slice(0, configuration.toLowerCase().indexOf('/ipconfigurations/'));
    if (nicId && !world.resource(nicId)) delete ip.properties['ipConfiguration'];
  }
}
