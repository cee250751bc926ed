#version 330 core
// Fragment stage of the face shader: the same image as pyrender's metallic-roughness shader
// (GGX, Smith-Schlick, Fresnel-Schlick, gamma 2.2) for what the face scene uses, namely
// untextured dielectric materials, vertex colours and directional lights without shadows.
// Written out for that case it runs about twice as fast on llvmpipe, where shading is most of
// the cost of a frame.

struct DirectionalLight {
    vec3 color;
    float intensity;
    vec3 direction;
};
struct Material {
    vec4 base_color_factor;
    float roughness_factor;
};

uniform Material material;
uniform DirectionalLight directional_lights[MAX_DIRECTIONAL_LIGHTS];
uniform int n_directional_lights;
uniform vec3 cam_pos;
uniform vec3 ambient_light;

in vec3 frag_position;
#ifdef NORMAL_LOC
in vec3 frag_normal;
#endif
#ifdef COLOR_0_LOC
in vec4 color_multiplier;
#endif

out vec4 frag_color;

const float PI = 3.141592653589793;
const float F0 = 0.04;  // reflectance of a dielectric at normal incidence

void main()
{
    vec3 base = material.base_color_factor.rgb;
    vec3 to_camera = normalize(cam_pos - frag_position);
#ifdef NORMAL_LOC
    vec3 n = normalize(frag_normal);
#else
    vec3 n = to_camera;  // meshes without normals face the camera
#endif
    float roughness = clamp(material.roughness_factor, F0, 1.0);
    float a2 = roughness * roughness * roughness * roughness;
    float k = (roughness + 1.0) * (roughness + 1.0) / 8.0;
    float nv = clamp(abs(dot(n, to_camera)), 0.001, 1.0);
    float shadowing_view = nv / (nv * (1.0 - k) + k);
    vec3 diffuse = base * (1.0 - F0) / PI;

    vec3 color = base * ambient_light;
    for (int i = 0; i < n_directional_lights; i++) {
        vec3 l = -directional_lights[i].direction;
        vec3 h = normalize(l + to_camera);
        float nl = clamp(dot(n, l), 0.001, 1.0);
        float nh = clamp(dot(n, h), 0.0, 1.0);
        float m = 1.0 - clamp(dot(to_camera, h), 0.0, 1.0);
        float fresnel = F0 + (1.0 - F0) * m * m * m * m * m;
        float shadowing = shadowing_view * nl / (nl * (1.0 - k) + k);
        float d = nh * nh * (a2 - 1.0) + 1.0;
        float specular = fresnel * shadowing * a2 / (PI * d * d) / (4.0 * nl * nv + 0.001);
        vec3 radiance = directional_lights[i].intensity * directional_lights[i].color;
        color += nl * radiance * ((1.0 - fresnel) * diffuse + specular);
    }
    float alpha = material.base_color_factor.a;
#ifdef COLOR_0_LOC
    color *= color_multiplier.rgb;  // pyrender tints the lit colour, highlights included
    alpha *= color_multiplier.a;
#endif
    frag_color = clamp(vec4(pow(color, vec3(1.0 / 2.2)), alpha), 0.0, 1.0);
}
